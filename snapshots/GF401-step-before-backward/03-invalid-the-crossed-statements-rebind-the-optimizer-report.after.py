for x, y in loader:
    opt.step()
    opt = make_optimizer()
    loss = criterion(model(x), y)
    loss.backward()
