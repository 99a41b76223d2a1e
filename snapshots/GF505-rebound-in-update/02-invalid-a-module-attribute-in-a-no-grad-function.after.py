import torch
@torch.no_grad()
def sgd(self, lr):
    self.w += (-lr) * self.w.grad
