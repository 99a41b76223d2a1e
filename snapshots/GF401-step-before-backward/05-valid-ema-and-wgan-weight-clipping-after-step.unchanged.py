for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    ema.update(model)
    for p in critic.parameters():
        p.data.clamp_(-0.01, 0.01)
