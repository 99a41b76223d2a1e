import torch.nn as nn

model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1))
loss_fn = nn.CrossEntropyLoss()
for x, y in loader:
    out = model(x)
    loss = loss_fn(out, y)
