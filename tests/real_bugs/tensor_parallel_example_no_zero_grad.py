"""Shape of pytorch/examples (commit 77f55b9) distributed/tensor_parallelism/tensor_parallel_example.py (and
sequence_parallel_example.py, fsdp_tp_example.py): the training loop runs forward, backward() and
optimizer.step() but never clears the gradients, so each step applies the sum of every gradient so far.
Written for autofix; prints one JSON line: symptom = the gradient of the last step is the running sum
(ratio to the fresh gradient well above 1)."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.in_proj = nn.Linear(10, 32)
        self.relu = nn.ReLU()
        self.out_proj = nn.Linear(32, 5)

    def forward(self, x):
        return self.out_proj(self.relu(self.in_proj(x)))


tp_model = ToyModel()
optimizer = torch.optim.AdamW(tp_model.parameters(), lr=0.25, foreach=True)
num_iters = 10
for i in range(num_iters):
    torch.manual_seed(i)
    inp = torch.rand(20, 10)
    output = tp_model(inp)
    output.sum().backward()
    optimizer.step()

# the gradient the last step applied, against the gradient of the last batch alone
fresh = torch.autograd.grad(tp_model(inp).sum(), tp_model.out_proj.bias)[0]
ratio = (tp_model.out_proj.bias.grad.norm() / fresh.norm()).item()
print(json.dumps({"symptom": ratio > 1.5, "applied_to_fresh_gradient_ratio": ratio}))
