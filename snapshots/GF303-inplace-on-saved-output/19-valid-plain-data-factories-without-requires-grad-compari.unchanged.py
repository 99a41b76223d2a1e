import torch
import torch.nn as nn


class Aligner(nn.Module):
    def forward(self, scores, lengths):
        n = scores.size(1)
        mask = torch.arange(n)[None] < lengths[:, None]
        prior = torch.cat([torch.eye(n), torch.zeros(n, n)], 0)
        logp = torch.log_softmax(prior, dim=-1)
        logp[~mask] = 0
        return logp
