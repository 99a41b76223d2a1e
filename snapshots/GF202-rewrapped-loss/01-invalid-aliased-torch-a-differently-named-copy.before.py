import torch as T

out = net(x)
loss = F_loss(out, y)
leaf = T.tensor(loss, requires_grad=True)
leaf.backward()
