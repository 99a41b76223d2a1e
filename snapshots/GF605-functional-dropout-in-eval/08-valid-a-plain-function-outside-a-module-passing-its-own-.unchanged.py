import torch.nn.functional as F


def mlp(x, w1, w2, training):
    return F.dropout(x @ w1, 0.5, training=training) @ w2
