import torch.nn as nn


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)


net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
net.apply(weights_init)
