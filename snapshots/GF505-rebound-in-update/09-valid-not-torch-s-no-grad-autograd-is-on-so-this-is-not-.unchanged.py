from tape import no_grad
with no_grad():
    w = w - lr * w.grad
