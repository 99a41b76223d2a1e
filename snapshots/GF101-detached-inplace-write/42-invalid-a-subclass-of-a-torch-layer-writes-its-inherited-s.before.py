import torch.nn as nn


class ScaledLinear(nn.Linear):
    def reset_parameters(self):
        self.weight.data.normal_(0.0, 0.02)
        if self.bias is not None:
            self.bias.data.zero_()
