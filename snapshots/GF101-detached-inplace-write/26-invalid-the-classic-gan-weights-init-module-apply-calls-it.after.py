import torch.nn as nn
import torch


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        with torch.no_grad():
            m.weight.normal_(0.0, 0.02)


net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
net.apply(weights_init)
