loss = criterion(model(x), y).detach().requires_grad_()
loss.backward()
