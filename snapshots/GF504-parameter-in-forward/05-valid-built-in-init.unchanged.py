import torch.nn as nn
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 8)
