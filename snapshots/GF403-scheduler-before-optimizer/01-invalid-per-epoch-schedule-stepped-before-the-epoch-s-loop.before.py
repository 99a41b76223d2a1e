for epoch in range(epochs):
    lr_scheduler.step()
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
