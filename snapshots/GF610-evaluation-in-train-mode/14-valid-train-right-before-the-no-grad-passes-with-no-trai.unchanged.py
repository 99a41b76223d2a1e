import torch
import torch.nn as nn


def predict(x, samples=20):
    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Linear(16, 1))
    model.load_state_dict(torch.load('m.pt'))
    model.train()  # Monte Carlo dropout
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    return outs.mean(0), outs.std(0)
