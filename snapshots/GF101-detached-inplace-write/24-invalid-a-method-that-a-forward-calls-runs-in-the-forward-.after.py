import torch.nn as nn
import torch


class Router(nn.Module):
    def __init__(self):
        super().__init__()
        self.coefs = nn.Linear(4, 4)

    def predict(self, x):
        if self.training:
            with torch.no_grad():
                self.coefs.weight.clamp_(-1, 1)
        return self.coefs(x)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.router = Router()

    def forward(self, x):
        return self.router.predict(x)
