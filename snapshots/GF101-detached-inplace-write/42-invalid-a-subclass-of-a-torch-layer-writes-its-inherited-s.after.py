import torch.nn as nn
import torch


class ScaledLinear(nn.Linear):
    def reset_parameters(self):
        with torch.no_grad():
            self.weight.normal_(0.0, 0.02)
        if self.bias is not None:
            with torch.no_grad():
                self.bias.zero_()
