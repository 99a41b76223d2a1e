import torch.nn as nn


class Net(nn.Module):
    def __init__(self, conv_type):
        super().__init__()
        self.conv_type = conv_type
        for m in self.modules():
            if isinstance(m, self.conv_type):
                m.weight.data.normal_(0, 0.02)
