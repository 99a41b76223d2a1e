for epoch in range(epochs):
    for x, y in loader:
        loss.backward()
        optimizer.step()
    scheduler.step()
