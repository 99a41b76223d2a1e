import torch
with torch.no_grad():
    ema = ema - (1 - decay) * (ema - w)
