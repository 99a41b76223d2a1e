import torch


def step(net, X, y, loss_fn, opt):
    l = loss_fn(net(X), y)
    with torch.no_grad():
        l.backward()
    opt.step()
