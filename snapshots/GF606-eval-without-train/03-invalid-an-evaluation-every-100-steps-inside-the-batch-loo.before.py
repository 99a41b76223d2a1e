import torch


def fit(model, opt, loader, val):
    model.train()
    for step, (x, y) in enumerate(loader):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
        if step % 100 == 0:
            model.eval()
            print(loss_fn(model(val[0]), val[1]))
