import torch.nn as nn
import torch


class Net(nn.Module):
    def __init__(self, conv_type):
        super().__init__()
        self.conv_type = conv_type
        for m in self.modules():
            if isinstance(m, self.conv_type):
                with torch.no_grad():
                    m.weight.normal_(0, 0.02)
