import numpy as np

w = np.zeros(3)
for x, y in zip(xs, ys):
    loss = Scalar(((x @ w - y) ** 2).sum())
    loss.backward()
    for p in params:
        p.data -= 0.1 * p.grad
        p.grad.fill_(0)
