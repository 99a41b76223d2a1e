import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


model = Net()
criterion = nn.NLLLoss()
for x, y in loader:
    loss = criterion(model(x), y)
