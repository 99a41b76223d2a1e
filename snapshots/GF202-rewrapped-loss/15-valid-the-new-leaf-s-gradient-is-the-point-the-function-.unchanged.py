def saliency(z0):
    z = z0.detach().requires_grad_()
    loss = (z ** 2).sum()
    loss.backward()
    return z.grad
