import torch.nn as nn
import torch

net, target = nn.Linear(4, 2), nn.Linear(4, 2)


def soft_update(tau):
    for p, tp in zip(net.parameters(), target.parameters()):
        with torch.no_grad():
            tp.copy_(tau * p.data + (1 - tau) * tp.data)
