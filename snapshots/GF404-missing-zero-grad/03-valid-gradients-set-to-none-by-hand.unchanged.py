def train(model, loader, optimizer):
    for x, y in loader:
        loss(model(x), y).backward()
        optimizer.step()
        for p in model.parameters():
            p.grad = None
