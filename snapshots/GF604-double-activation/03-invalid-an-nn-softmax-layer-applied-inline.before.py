import torch.nn as nn

loss_fn = nn.CrossEntropyLoss()
for x, y in loader:
    loss = loss_fn(nn.Softmax(dim=1)(model(x)), y)
