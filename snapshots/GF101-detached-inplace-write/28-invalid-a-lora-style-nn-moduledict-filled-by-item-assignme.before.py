import torch.nn as nn


class Adapter(nn.Module):
    def __init__(self, r):
        super().__init__()
        self.lora_A = nn.ModuleDict({})
        self.lora_A["default"] = nn.Linear(8, r)

    def shrink(self, name, s):
        self.lora_A[name].weight.data.mul_(s)
