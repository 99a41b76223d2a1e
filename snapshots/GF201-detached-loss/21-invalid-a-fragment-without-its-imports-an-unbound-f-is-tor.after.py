for x, y in loader:
    loss = F.cross_entropy(net(x), y)
    loss.backward()
