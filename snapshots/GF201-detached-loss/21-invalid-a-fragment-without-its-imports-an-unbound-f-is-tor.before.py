for x, y in loader:
    loss = F.cross_entropy(net(x).detach(), y)
    loss.backward()
