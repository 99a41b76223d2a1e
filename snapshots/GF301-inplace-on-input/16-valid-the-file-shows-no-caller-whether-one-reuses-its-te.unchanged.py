import torch
import torch.nn as nn


class PatchEmbed(nn.Module):
    def forward(self, pixels: torch.Tensor):
        pixels -= self.mean
        return self.proj(pixels)
