import torch


def evaluate(net, loader):
    net.eval()
    with torch.no_grad():
        result = sum(metric(net(x), y) for x, y in loader)
    net.train()
    return result


def main(model, opt, loader, val_loader):
    model.train()
    for epoch in range(10):
        for x, y in loader:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        evaluate(model, val_loader)
