"""An optimizer written against the 0.4-era API: `.data` writes and scalar-first overloads."""
import torch
from torch.optim import Optimizer


class LegacyAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if not state:
                    state['exp_avg'] = torch.zeros_like(p.data)
                    state['exp_avg_sq'] = torch.zeros_like(p.data)
                beta1, beta2 = group['betas']
                state['exp_avg'].mul_(beta1).add_(1 - beta1, grad)
                state['exp_avg_sq'].mul_(beta2).addcmul_(1 - beta2, grad, grad)
                denom = state['exp_avg_sq'].sqrt().add_(group['eps'])
                p.data.addcdiv_(-group['lr'], state['exp_avg'], denom)


def zero_grads(model):
    for p in model.parameters():
        if p.grad is not None:
            p.grad.data.zero_()
