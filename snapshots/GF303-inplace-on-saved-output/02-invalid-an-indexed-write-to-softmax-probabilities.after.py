import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def attend(self, scores, mask):
        p = F.softmax(scores, dim=-1)
        p = p.clone()
        p[mask] = 0
        return p
