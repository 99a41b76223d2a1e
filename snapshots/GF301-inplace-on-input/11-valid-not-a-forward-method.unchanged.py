def step(x):
    x += 1
    return x
