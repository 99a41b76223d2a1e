import torch.nn as nn


def _init_weights(module):
    if not isinstance(module, (nn.Linear, nn.Embedding)):
        return
    module.weight.data.normal_(mean=0.0, std=0.02)


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 4)
        self.apply(_init_weights)
