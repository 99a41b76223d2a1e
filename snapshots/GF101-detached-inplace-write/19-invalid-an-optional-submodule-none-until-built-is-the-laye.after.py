import torch.nn as nn
import torch


class Net(nn.Module):
    def __init__(self, atomref=None):
        super().__init__()
        self.atomref = None
        if atomref is not None:
            self.atomref = nn.Embedding(100, 1)
            with torch.no_grad():
                self.atomref.weight.copy_(atomref)
