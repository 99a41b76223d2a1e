"""Shape of transformers (5.23.0 to 5.25.0) models/phimoe/modeling_phimoe.py: PhimoeSparseMoeBlock.forward
jitters its input, then PhimoeTopKRouter.forward jitters the same tensor again in place
(`hidden_states *= ...`), and the block hands that tensor to the experts: with input_jitter_noise > 0 the
experts train on input jittered twice, and on noise drawn for the router.
Written for autofix; prints one JSON line: symptom = the experts saw a tensor other than the router's input."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class TopKRouter(nn.Linear):
    def __init__(self, dim, num_experts, input_jitter_noise):
        super().__init__(dim, num_experts, bias=False)
        self.input_jitter_noise = input_jitter_noise

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.training and self.input_jitter_noise > 0:
            hidden_states *= torch.empty_like(hidden_states).uniform_(
                1.0 - self.input_jitter_noise, 1.0 + self.input_jitter_noise
            )
        router_logits = super().forward(hidden_states)
        return router_logits.softmax(dim=-1)


class Experts(nn.Module):
    def __init__(self, dim, num_experts):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_experts, dim, dim) * 0.1)

    def forward(self, hidden_states, routing_weights):
        per_expert = torch.einsum("td,edf->tef", hidden_states, self.weight)
        return (per_expert * routing_weights.unsqueeze(-1)).sum(dim=1)


class SparseMoeBlock(nn.Module):
    def __init__(self, dim=8, num_experts=4, input_jitter_noise=0.01):
        super().__init__()
        self.input_jitter_noise = input_jitter_noise
        self.router = TopKRouter(dim, num_experts, input_jitter_noise)
        self.experts = Experts(dim, num_experts)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.training and self.input_jitter_noise > 0:
            hidden_states *= torch.empty_like(hidden_states).uniform_(
                1.0 - self.input_jitter_noise, 1.0 + self.input_jitter_noise
            )
        hidden_states = hidden_states.reshape(-1, hidden_states.shape[-1])
        routing_weights = self.router(hidden_states)
        return self.experts(hidden_states, routing_weights)


class Layer(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.moe = SparseMoeBlock(dim)

    def forward(self, x):
        return self.moe(self.norm(x))


model = Layer()
seen = {}
model.moe.router.register_forward_pre_hook(lambda module, args: seen.__setitem__("router", args[0].detach().clone()))
model.moe.experts.register_forward_pre_hook(lambda module, args: seen.__setitem__("experts", args[0].detach().clone()))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(32, 8)
model.train()
optimizer.zero_grad()
loss = model(x).pow(2).mean()
loss.backward()
optimizer.step()
difference = (seen["experts"] - seen["router"]).abs().max().item()
print(json.dumps({"symptom": difference > 0, "experts_input_max_difference": difference}))
