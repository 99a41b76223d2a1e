from torch.optim.lr_scheduler import CosineAnnealingLR

lr_scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
for epoch in range(epochs):
    lr_scheduler.step()
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
