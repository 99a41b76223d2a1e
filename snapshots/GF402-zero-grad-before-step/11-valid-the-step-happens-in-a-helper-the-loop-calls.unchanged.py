import torch

opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    loss = criterion(model(x), y)
    loss.backward()
    trainer.optimizer_step(opt)
    opt.zero_grad()
