import torch
import torch.nn as nn


def clamp_output(module, inputs, output):
    return torch.tensor(output.detach().clamp(-1, 1).numpy(), requires_grad=True)


model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
model[0].register_forward_hook(clamp_output)
