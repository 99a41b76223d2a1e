import torch
import torch.nn as nn


class Inverter(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(4, 4)

    def init_latent(self, img):
        return torch.tensor(self.encoder(img).detach(), requires_grad=True)
