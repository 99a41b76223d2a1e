import torch
import torch.nn as nn

optimizer = torch.optim.SGD(student.parameters(), lr=0.01)
teacher.fc = nn.Linear(512, 10)
for x, y in loader:
    optimizer.step()
