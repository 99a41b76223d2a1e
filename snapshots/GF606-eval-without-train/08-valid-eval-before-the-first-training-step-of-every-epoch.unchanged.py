import torch


def finetune(model, loader):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        model.eval()  # keep BatchNorm statistics fixed
        for x, y in loader:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
