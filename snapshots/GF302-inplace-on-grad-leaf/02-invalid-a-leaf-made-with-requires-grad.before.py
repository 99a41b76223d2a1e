from torch import randn

w = (randn(5, 3) * 0.1).requires_grad_()
w.clamp_(-1, 1)
