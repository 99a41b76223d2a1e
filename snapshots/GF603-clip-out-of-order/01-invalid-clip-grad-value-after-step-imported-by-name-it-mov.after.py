from torch.nn.utils import clip_grad_value_

for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    clip_grad_value_(model.parameters(), 0.5)  # keep updates small
    optimizer.step()
