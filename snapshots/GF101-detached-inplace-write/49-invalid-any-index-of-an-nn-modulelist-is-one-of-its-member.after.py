import torch.nn as nn
import torch


class Stack(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            self.blocks.append(nn.Linear(4, 4))

    def reset(self):
        for i in range(len(self.blocks)):
            layer = self.blocks[i]
            with torch.no_grad():
                layer.weight.normal_(0, 0.02)
