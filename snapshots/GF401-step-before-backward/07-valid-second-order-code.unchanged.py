grads = torch.autograd.grad(loss, params, create_graph=True)
opt.step()
loss2.backward(create_graph=True)
