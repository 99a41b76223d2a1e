import torch.nn as nn
import torch


def _init_weights(module):
    if not isinstance(module, (nn.Linear, nn.Embedding)):
        return
    with torch.no_grad():
        module.weight.normal_(mean=0.0, std=0.02)


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 4)
        self.apply(_init_weights)
