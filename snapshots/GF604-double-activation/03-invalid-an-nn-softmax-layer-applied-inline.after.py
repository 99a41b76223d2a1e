import torch.nn as nn

loss_fn = nn.CrossEntropyLoss()
for x, y in loader:
    loss = loss_fn(model(x), y)
