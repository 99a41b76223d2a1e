fast = w - lr * w.grad
