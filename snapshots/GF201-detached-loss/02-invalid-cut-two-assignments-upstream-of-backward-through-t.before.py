import torch.nn.functional as F

for x, y in loader:
    out = net(x).data
    probs = F.softmax(out, -1)
    loss = F.nll_loss(probs.log(), y)
    loss.backward()
