import torch
import torch.nn as nn

optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
model.fc = nn.Linear(512, 10)
torch.save(model.state_dict(), 'head.pt')
