def step(model, criterion, x, y):
    output = model(x)
    loss = criterion(output.detach(), y)
    loss.backward()
