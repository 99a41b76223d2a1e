import torch
class M(torch.nn.Module):
    def forward(self, x):
        for _ in range(2):
            x = torch.nn.Conv2d(3, 3, 1)(x)
        return x
