"""Shape of transformers (5.23.0 to 5.25.0) models/dbrx/modeling_dbrx.py, DbrxRouter.forward: in training,
the router multiplies its input by jitter noise in place (`hidden_states *= ...`). That input is the very
tensor DbrxFFN.forward then hands to the experts, so the experts train on jittered activations, where
the jitter was meant for the routing decision only.
Written for autofix; prints one JSON line: symptom = the experts saw a tensor other than the block's input."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class Router(nn.Module):
    def __init__(self, dim, num_experts, jitter_eps):
        super().__init__()
        self.jitter_eps = jitter_eps
        self.layer = nn.Linear(dim, num_experts, bias=False)

    def forward(self, hidden_states):
        if self.training and self.jitter_eps is not None:
            hidden_states *= torch.empty_like(hidden_states).uniform_(1.0 - self.jitter_eps, 1.0 + self.jitter_eps)
        return self.layer(hidden_states)


class Experts(nn.Module):
    def __init__(self, dim, num_experts):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_experts, dim, dim) * 0.1)

    def forward(self, hidden_states, routing_weights):
        per_expert = torch.einsum("td,edf->tef", hidden_states, self.weight)
        return (per_expert * routing_weights.unsqueeze(-1)).sum(dim=1)


class MoEBlock(nn.Module):
    def __init__(self, dim=8, num_experts=4, jitter_eps=0.01):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.router = Router(dim, num_experts, jitter_eps)
        self.experts = Experts(dim, num_experts)

    def forward(self, x):
        hidden_states = self.norm(x)
        router_logits = self.router(hidden_states)
        return self.experts(hidden_states, router_logits.softmax(dim=-1))


model = MoEBlock()
seen = {}
model.router.register_forward_pre_hook(lambda module, args: seen.__setitem__("block", args[0].detach().clone()))
model.experts.register_forward_pre_hook(lambda module, args: seen.__setitem__("experts", args[0].detach().clone()))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(32, 8)
model.train()
optimizer.zero_grad()
loss = model(x).pow(2).mean()
loss.backward()
optimizer.step()
difference = (seen["experts"] - seen["block"]).abs().max().item()
print(json.dumps({"symptom": difference > 0, "experts_input_max_difference": difference}))
