from wrappers import Lookahead


def fit(net, batches, opt, criterion):
    slow = Lookahead(opt)
    for inputs, labels in batches:
        slow.zero_grad()
        criterion(net(inputs), labels).backward()
        slow.step()
