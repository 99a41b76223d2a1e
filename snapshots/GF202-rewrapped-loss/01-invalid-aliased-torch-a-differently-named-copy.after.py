import torch as T

out = net(x)
loss = F_loss(out, y)
leaf = loss
leaf.backward()
