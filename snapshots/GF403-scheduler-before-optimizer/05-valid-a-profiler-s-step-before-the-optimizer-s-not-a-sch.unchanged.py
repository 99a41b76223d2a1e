import torch

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
with torch.profiler.profile() as prof:
    for x, y in loader:
        prof.step()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
