def fit(model, loader, optimizer, criterion, accumulate=4):
    for i, (x, y) in enumerate(loader):
        loss = criterion(model(x), y) / accumulate
        loss.backward()
        if i % accumulate == 0:
            optimizer.step()
            optimizer.zero_grad()
