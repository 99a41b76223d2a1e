import torch.nn as nn

features = []


def keep(module, inputs, output):
    features.append(output.detach())


model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
model[0].register_forward_hook(keep)
