import torch.nn.functional as F

for batch in loader:
    total = 0
    for micro in batch.chunks(4):
        total = total + F.mse_loss(model(micro.x), micro.y) / 4
    total.backward()
    opt.step()
