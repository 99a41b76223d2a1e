import torch
import torch.nn as nn


class Explainer(nn.Module):
    def keep_salient(self, attribution: torch.Tensor, keep):
        weights = attribution.detach()
        weights = weights.sigmoid()
        weights[~keep] = 0.0
        return weights
