import torch
import torch.nn as nn


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 1)

    def forward(self, x):
        scores = self.body(x).detach().cpu().numpy()
        return torch.from_numpy(scores).requires_grad_()
