import torch


class LegacySGD(torch.optim.Optimizer):
    def step(self):
        for group in self.param_groups:
            for p in group['params']:
                p.data.add_(-group['lr'], p.grad.data)
