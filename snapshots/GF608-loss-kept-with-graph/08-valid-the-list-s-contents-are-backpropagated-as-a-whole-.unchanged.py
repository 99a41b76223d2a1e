import torch
import torch.nn.functional as F

losses = []
for task in tasks:
    loss = F.mse_loss(learner(task.x), task.y)
    loss.backward(retain_graph=True)
    losses.append(loss)
meta = torch.stack(losses).mean()
meta.backward()
