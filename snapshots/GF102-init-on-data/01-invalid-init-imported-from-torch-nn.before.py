from torch.nn import init
init.normal_(self.bias.data, std=0.02)
