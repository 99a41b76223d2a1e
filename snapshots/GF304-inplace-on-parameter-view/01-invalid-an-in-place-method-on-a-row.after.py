import torch
import torch.nn as nn

def reset_pad(emb: nn.Embedding, pad):
    with torch.no_grad():
        emb.weight[pad].zero_()
