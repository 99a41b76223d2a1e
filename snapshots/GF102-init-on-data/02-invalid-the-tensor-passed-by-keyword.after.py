import torch
torch.nn.init.kaiming_normal_(tensor=self.conv_weight, mode='fan_out')
