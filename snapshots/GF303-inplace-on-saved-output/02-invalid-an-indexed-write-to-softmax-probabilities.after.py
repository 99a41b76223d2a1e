import torch.nn.functional as F

def attend(scores, mask):
    p = F.softmax(scores, dim=-1)
    p = p.clone()
    p[mask] = 0
    return p
