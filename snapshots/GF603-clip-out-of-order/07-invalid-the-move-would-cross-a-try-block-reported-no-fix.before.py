import torch

for x, y in loader:
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    try:
        loss = criterion(model(x), y)
    except ValueError:
        continue
    loss.backward()
    optimizer.step()
