import torch


def probe(backbone, head, x, y):
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    feats = backbone(x)
    loss = head(feats.detach(), y)
    loss.backward()
    opt.step()
