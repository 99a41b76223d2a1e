import torch

def reset_pad(emb, pad):
    with torch.no_grad():
        emb.weight[pad].zero_()
