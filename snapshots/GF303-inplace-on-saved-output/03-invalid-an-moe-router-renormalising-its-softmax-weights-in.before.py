import torch.nn as nn
import torch.nn.functional as F


class ProductKeyRouter(nn.Module):
    def __init__(self, dim, n_experts, k):
        super().__init__()
        self.score = nn.Linear(dim, n_experts)
        self.k = k

    def forward(self, tokens):
        best, chosen = self.score(tokens).topk(self.k, dim=-1)
        gate = F.softmax(best, dim=-1)
        if self.renormalise:
            gate /= gate.sum(dim=-1, keepdim=True)
        return gate, chosen
