from torch.nn import Parameter
w = Parameter(torch.randn(3, 3)).double()
