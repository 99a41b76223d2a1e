def fisher(model, loader, criterion, optimizer):
    scores = [0.0 for _ in model.parameters()]
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        for i, p in enumerate(model.parameters()):
            scores[i] += p.grad.pow(2).sum().item()
        optimizer.zero_grad()
    return scores
