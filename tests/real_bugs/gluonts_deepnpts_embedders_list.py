"""Shape of gluonts (PyPI 0.17.0) gluonts/torch/model/deep_npts/_network.py:73, FeatureEmbedder.__init__:
the per-feature nn.Embedding layers are kept in a plain Python list. They are not registered: they are
missing from parameters() (the optimizer never updates them, though they get gradients), from
state_dict() (a saved model reloads with fresh random embeddings) and from .to(device).
Written for autofix; prints one JSON line: symptom = the embeddings never moved in training."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class FeatureEmbedder(nn.Module):
    def __init__(self, cardinalities, embedding_dimensions):
        super().__init__()
        self.embedders = [
            torch.nn.Embedding(num_embeddings=card, embedding_dim=dim)
            for card, dim in zip(cardinalities, embedding_dimensions)
        ]

    def forward(self, features):
        return torch.cat([embedder(features[:, i].long()) for i, embedder in enumerate(self.embedders)], dim=-1)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedder = FeatureEmbedder([5, 3], [4, 2])
        self.head = nn.Linear(6, 1)

    def forward(self, features):
        return self.head(self.embedder(features))


model = Network()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
features = torch.stack([torch.randint(0, 5, (64,)), torch.randint(0, 3, (64,))], dim=1)
target = torch.randn(64, 1)
before = model.embedder.embedders[0].weight.detach().clone()
for step in range(10):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(features), target)
    loss.backward()
    optimizer.step()
moved = (model.embedder.embedders[0].weight.detach() - before).abs().max().item()
saved = any("embedders" in key for key in model.state_dict())
print(json.dumps({"symptom": moved == 0.0, "embedding_moved": moved, "in_state_dict": saved}))
