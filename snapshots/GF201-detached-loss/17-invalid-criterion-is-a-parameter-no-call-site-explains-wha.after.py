def step(model, criterion, x, y):
    output = model(x)
    loss = criterion(output, y)
    loss.backward()
