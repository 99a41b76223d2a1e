import torch
import torch.nn as nn


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_parameter(name="scale", param=nn.Parameter(torch.ones(3)))
        with torch.no_grad():
            self.scale.fill_(0.5)
