def step(model, criterion, x, y, log):
    loss = criterion(model(x), y)
    loss.backward()
    log(loss.item(), loss.detach())
    loss.detach()
