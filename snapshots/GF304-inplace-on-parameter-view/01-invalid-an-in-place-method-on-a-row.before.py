import torch
import torch.nn as nn

def reset_pad(emb: nn.Embedding, pad):
    emb.weight[pad].zero_()
