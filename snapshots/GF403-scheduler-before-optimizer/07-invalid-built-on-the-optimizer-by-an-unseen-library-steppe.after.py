from warmup import linear_warmup


def fit(net, batches, opt, criterion):
    ramp = linear_warmup(opt, 500)
    for inputs, labels in batches:
        criterion(net(inputs), labels).backward()
        opt.step()
        ramp.step()
        opt.zero_grad()
