import torch
conv_weight = torch.nn.Parameter(torch.empty(8, 3, 3, 3))
torch.nn.init.kaiming_normal_(tensor=conv_weight.data, mode='fan_out')
