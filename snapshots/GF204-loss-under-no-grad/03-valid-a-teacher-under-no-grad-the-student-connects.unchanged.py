import torch

with torch.no_grad():
    t = teacher(x)
loss = kd(student(x), t)
loss.backward()
