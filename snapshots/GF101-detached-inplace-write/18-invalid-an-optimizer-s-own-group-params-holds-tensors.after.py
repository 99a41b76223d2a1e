import torch


class LegacySGD(torch.optim.Optimizer):
    def step(self):
        for group in self.param_groups:
            for p in group['params']:
                with torch.no_grad():
                    p.add_(p.grad, alpha=-group['lr'])
