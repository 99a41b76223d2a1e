w = w - lr * w.grad
