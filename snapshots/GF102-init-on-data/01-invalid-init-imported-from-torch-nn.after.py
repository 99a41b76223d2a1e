from torch.nn import init
init.normal_(self.bias, std=0.02)
