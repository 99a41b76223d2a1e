import torch.nn.functional as F


def step(model, x, y):
    soft = model(x).softmax(-1)
    hard = (soft == soft.max(-1, keepdim=True)[0]).float()
    out = hard - soft.detach() + soft
    loss = F.mse_loss(out, y)
    loss.backward()
