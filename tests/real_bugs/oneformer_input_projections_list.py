"""Shape of transformers (5.23.0 to 5.25.0) models/oneformer/modeling_oneformer.py:2301,
OneFormerTransformerModule.__init__: the per-level input projections (nn.Conv2d when in_features differs
from hidden_dim, or with config.enforce_input_proj) are appended to a plain list. They are not
registered: never trained, absent from state_dict() (pretrained weights for them are never loaded or
saved) and left on the CPU by model.to(device).
Written for autofix; prints one JSON line: symptom = the projection weights never moved in training."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class TransformerModule(nn.Module):
    def __init__(self, in_features=6, hidden_dim=8, enforce_input_proj=True):
        super().__init__()
        self.num_feature_levels = 3
        self.input_projections = []

        for _ in range(self.num_feature_levels):
            if in_features != hidden_dim or enforce_input_proj:
                self.input_projections.append(nn.Conv2d(in_features, hidden_dim, kernel_size=1))
            else:
                self.input_projections.append(nn.Sequential())
        self.level_embed = nn.Embedding(self.num_feature_levels, hidden_dim)
        self.decoder = nn.Linear(hidden_dim, 2)

    def forward(self, multi_scale_features):
        pooled = []
        for i in range(self.num_feature_levels):
            projected = self.input_projections[i](multi_scale_features[i]).flatten(2).mean(-1)
            pooled.append(projected + self.level_embed.weight[i])
        return self.decoder(torch.stack(pooled).sum(0))


model = TransformerModule()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
features = [torch.randn(4, 6, 5, 5) for _ in range(3)]
target = torch.randn(4, 2)
before = model.input_projections[0].weight.detach().clone()
for step in range(10):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(features), target)
    loss.backward()
    optimizer.step()
moved = (model.input_projections[0].weight.detach() - before).abs().max().item()
saved = any("input_projections" in key for key in model.state_dict())
print(json.dumps({"symptom": moved == 0.0, "projection_moved": moved, "in_state_dict": saved}))
