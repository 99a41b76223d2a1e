from engine import MLP

net = MLP(3, [4, 4, 1])
for k in range(20):
    loss = sum((net(x) - y) ** 2 for x, y in zip(xs, ys))
    for p in net.parameters():
        p.grad = 0.0
    loss.backward()
    for p in net.parameters():
        p.data += -0.05 * p.grad
