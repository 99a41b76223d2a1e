import torch.nn as nn

loss_fn = nn.CrossEntropyLoss()
for x, y in loader:
    with autocast():
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
