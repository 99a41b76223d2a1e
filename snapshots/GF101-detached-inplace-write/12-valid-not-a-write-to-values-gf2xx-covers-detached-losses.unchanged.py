p.detach().requires_grad_()
