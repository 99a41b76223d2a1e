"""Shape of RecBole 1.2.1 (newest; still in RUCAIBox/RecBole @ 7b02be5) recbole/model/context_aware_recommender/
fwfm.py:61, FwFM.__init__: the field-pair weights r(F_i, F_j), the part that makes FwFM differ from a plain FM,
are `self.weight = torch.randn(num_fields, num_fields, 1, requires_grad=True, device=...)`, a plain attribute.
They are not in parameters(), so the optimizer never updates them (they keep their random initial values
while their .grad grows, never cleared), and not in state_dict(), so a saved model reloads with other random
weights. Upstream's defaults: Adam, lr 0.001. Written for autofix (three fields, an embedding per field);
prints one JSON line: symptom = the field-pair weights never moved in training."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class FwFM(nn.Module):
    def __init__(self, num_fields=3, vocab=10, embedding_size=4):
        super().__init__()
        self.num_fields = num_fields
        self.embedding = nn.Embedding(num_fields * vocab, embedding_size)
        self.first_order = nn.Embedding(num_fields * vocab, 1)
        self.offsets = torch.arange(num_fields) * vocab
        self.dropout_layer = nn.Dropout(p=0.0)
        self.weight = torch.randn(self.num_fields, self.num_fields, 1, requires_grad=True, device="cpu")
        self.loss = nn.BCEWithLogitsLoss()

    def fwfm_layer(self, infeature):
        weight = self.weight.expand(infeature.shape[0], -1, -1, -1)
        inter = [infeature[:, i] * infeature[:, j] * weight[:, i, j]
                 for i in range(self.num_fields - 1) for j in range(i + 1, self.num_fields)]
        inter = self.dropout_layer(torch.stack(inter, dim=1).sum(dim=1))
        return inter.sum(dim=1, keepdim=True)

    def forward(self, fields):
        ids = fields + self.offsets
        output = self.first_order(ids).sum(dim=1) + self.fwfm_layer(self.embedding(ids))
        return output.squeeze(-1)

    def calculate_loss(self, fields, label):
        return self.loss(self.forward(fields), label)


model = FwFM()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
fields = torch.randint(0, 10, (256, 3))
label = ((fields[:, 0] + fields[:, 1]) % 2).float()
before = model.weight.detach().clone()
model.train()
for step in range(20):
    optimizer.zero_grad()
    loss = model.calculate_loss(fields, label)
    loss.backward()
    optimizer.step()
moved = (model.weight.detach() - before).abs().max().item()
saved = any(key == "weight" for key in model.state_dict())
print(json.dumps({"symptom": moved == 0.0, "field_pair_weight_moved": moved, "in_state_dict": saved}))
