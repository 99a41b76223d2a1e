import torch
import torch.nn.functional as F


def multi_scale_loss(preds, target):
    loss = 0
    for pred in preds:
        loss += F.l1_loss(pred, target)
    return loss
