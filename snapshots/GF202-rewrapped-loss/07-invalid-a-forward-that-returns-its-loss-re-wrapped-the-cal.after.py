import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.criterion = nn.MSELoss()

    def forward(self, x, y):
        loss = self.criterion(self.fc(x), y)
        return loss
