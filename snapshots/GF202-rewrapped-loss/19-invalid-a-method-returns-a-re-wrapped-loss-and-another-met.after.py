import torch
import torch.nn as nn
import torch.nn.functional as F


class Trainer:
    def __init__(self):
        self.model = nn.Linear(4, 3)

    def compute(self, x, y):
        loss = F.cross_entropy(self.model(x), y)
        return loss

    def step(self, x, y):
        loss = self.compute(x, y)
        loss.backward()
