import torch.nn as nn


class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = {"train": nn.Linear(8, 3)}

    def forward(self, x):
        return self.heads.get("train")(x)
