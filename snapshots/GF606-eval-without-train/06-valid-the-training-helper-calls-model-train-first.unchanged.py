import torch


def train_one_epoch(model, opt, loader):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()


def main(model, opt, loader):
    for epoch in range(10):
        train_one_epoch(model, opt, loader)
        model.eval()
        test(model)
