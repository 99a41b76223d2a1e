import torch.nn as nn

def reset_pad(emb, pad):
    emb.weight[pad].zero_()
