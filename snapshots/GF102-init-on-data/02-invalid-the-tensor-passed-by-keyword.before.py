import torch
torch.nn.init.kaiming_normal_(tensor=self.conv_weight.data, mode='fan_out')
