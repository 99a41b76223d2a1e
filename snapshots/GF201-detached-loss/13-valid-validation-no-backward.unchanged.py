for x, y in val_loader:
    loss = criterion(model(x).detach(), y)
    total += loss.item()
