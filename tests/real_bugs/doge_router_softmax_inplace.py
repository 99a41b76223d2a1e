"""Shape of transformers (5.23.0 to 5.25.0) models/doge/modeling_doge.py, DogeCDMoE.forward:
the top-k routing weights come out of softmax and are renormalised with an in-place `/=`.
softmax saved its output for backward(), so training with norm_topk_prob=True raises at backward().
Written for autofix; prints one JSON line: symptom = backward() raised."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class ExpertRouter(nn.Module):
    def __init__(self, dim=8, num_experts=6, top_k=3, norm_topk_prob=True):
        super().__init__()
        self.gate = nn.Linear(dim, num_experts)
        self.expert_embed = nn.Embedding(num_experts, dim)
        self.top_k = top_k
        self.norm_topk_prob = norm_topk_prob

    def forward(self, hidden_states):
        scores, indices = self.gate(hidden_states).topk(self.top_k, dim=-1)
        routing_weights = F.softmax(scores, dim=-1)
        if self.norm_topk_prob:
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        experts = self.expert_embed(indices)
        return (experts * routing_weights.unsqueeze(-1)).sum(dim=1)


model = ExpertRouter()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(16, 8)
result = {"symptom": False}
try:
    for step in range(3):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    result["loss"] = loss.item()
except RuntimeError as error:
    result = {"symptom": True, "error": str(error).splitlines()[0][:120]}
print(json.dumps(result))
