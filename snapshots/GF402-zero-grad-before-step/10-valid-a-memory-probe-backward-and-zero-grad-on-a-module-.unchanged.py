def peak_memory(model, x, sizes):
    for size in sizes:
        model(x[:size]).sum().backward()
        model.zero_grad()
