import torch

def reset_pad(emb, pad):
    emb.weight[pad].zero_()
