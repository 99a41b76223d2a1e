import torch
import torch.nn.functional as F

def compute_loss(pred, target):
    loss = F.mse_loss(pred, target)
    return loss.to(pred.device)
