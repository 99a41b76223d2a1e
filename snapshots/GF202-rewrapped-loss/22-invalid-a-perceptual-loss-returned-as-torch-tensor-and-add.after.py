import torch
import torch.nn as nn
import torch.nn.functional as F


class Perceptual(nn.Module):
    def __init__(self, device):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        self.device = device

    def forward(self, fake, real):
        content = F.l1_loss(self.features(fake), self.features(real))
        return torch.Tensor([content]).to(self.device)


def g_step(netG, netD, z, real, ones, device):
    perceptual = Perceptual(device)
    fake = netG(z)
    g_loss = F.binary_cross_entropy_with_logits(netD(fake), ones)
    g_loss += perceptual(fake, real).mean()
    g_loss.backward()
