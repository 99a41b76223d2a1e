import torch.nn as nn

model = nn.Linear(4, 2)
criterion = nn.MSELoss()
history = []
for epoch in range(10):
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
        history.append(loss)
plot(history)
