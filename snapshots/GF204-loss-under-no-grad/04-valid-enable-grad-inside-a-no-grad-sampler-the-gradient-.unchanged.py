import torch

@torch.no_grad()
def sample(energy, x, steps):
    for _ in range(steps):
        with torch.enable_grad():
            x = x.detach().requires_grad_()
            (g,) = torch.autograd.grad(energy(x).sum(), x)
        x = x - 0.1 * g
    return x
