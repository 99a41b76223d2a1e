import torch
import torch.nn as nn


class M(nn.Module):
    def forward(self, x):
        x.clamp_(0, 1)  # keep in range
        return self.net(x)


model = M()
batch = torch.rand(16, 3)
for epoch in range(10):
    model(batch).sum().backward()
