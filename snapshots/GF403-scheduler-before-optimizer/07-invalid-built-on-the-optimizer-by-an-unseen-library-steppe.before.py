from warmup import linear_warmup


def fit(net, batches, opt, criterion):
    ramp = linear_warmup(opt, 500)
    for inputs, labels in batches:
        ramp.step()
        criterion(net(inputs), labels).backward()
        opt.step()
        opt.zero_grad()
