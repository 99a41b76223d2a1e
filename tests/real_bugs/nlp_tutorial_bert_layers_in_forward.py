"""Shape of graykode/nlp-tutorial (commit d05e31e) 5-2.BERT/BERT.py, MultiHeadAttention.forward: the output
projection and the LayerNorm are constructed inside forward (`nn.Linear(...)(context)`,
`nn.LayerNorm(...)(output + residual)`). Each call draws a fresh random projection that is in no
parameters() list: it is never trained, and even in eval mode the same input gives a different output.
Written for autofix; prints one JSON line: symptom = outputs differ between two eval calls."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)
d_model, n_heads, d_k = 16, 2, 8


class MultiHeadAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_Q = nn.Linear(d_model, d_k * n_heads)
        self.W_K = nn.Linear(d_model, d_k * n_heads)
        self.W_V = nn.Linear(d_model, d_k * n_heads)

    def forward(self, Q, K, V):
        residual, batch_size = Q, Q.size(0)
        q = self.W_Q(Q).view(batch_size, -1, n_heads, d_k).transpose(1, 2)
        k = self.W_K(K).view(batch_size, -1, n_heads, d_k).transpose(1, 2)
        v = self.W_V(V).view(batch_size, -1, n_heads, d_k).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2) / d_k**0.5, dim=-1)
        context = (attn @ v).transpose(1, 2).contiguous().view(batch_size, -1, n_heads * d_k)
        output = nn.Linear(n_heads * d_k, d_model)(context)
        return nn.LayerNorm(d_model)(output + residual)


model = MultiHeadAttention()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
x = torch.randn(4, 5, d_model)
for step in range(5):
    optimizer.zero_grad()
    loss = model(x, x, x).pow(2).mean()
    loss.backward()
    optimizer.step()
model.eval()
with torch.no_grad():
    first, second = model(x, x, x), model(x, x, x)
difference = (first - second).abs().max().item()
print(json.dumps({"symptom": difference > 1e-6, "eval_output_difference": difference,
                  "parameters": sum(p.numel() for p in model.parameters())}))
