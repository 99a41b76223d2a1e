"""Shape of jeffheaton/app_deep_learning (commit c8d1e52) t81_558_class_08_2_pytorch_ensembles.ipynb, cell 7,
`perturbation_rank`: for a classifier, it turns the model's outputs into probabilities with `F.softmax` and
gives them to `nn.CrossEntropyLoss`, which applies log_softmax again. The "error" it measures for each shuffled
feature is then squeezed into a narrow band above a floor (log(1 + 2/e) = 0.55 for three classes), so the
reported importances, error / max error, are all pushed towards 1: a feature that does not matter looks almost
as important as the one that decides the class. The notebook calls it on its iris classifier (cell 13).
Written for autofix (a small MLP trained with Adam on synthetic 4-feature, 3-class data in place of iris);
prints one JSON line: symptom = the feature the labels do not depend on gets an importance above 0.3."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


def perturbation_rank(model, x, y):
    model.eval()
    errors = []
    for i in range(x.shape[1]):
        hold = x[:, i].clone()
        x[:, i] = x[torch.randperm(x.shape[0]), i]
        with torch.no_grad():
            pred = model(x)
        pred = F.softmax(pred, dim=1)
        loss_fn = torch.nn.CrossEntropyLoss()
        error = loss_fn(pred, y.long()).item()
        errors.append(error)
        x[:, i] = hold
    max_error = max(errors)
    return [e / max_error for e in errors]


x = torch.randn(300, 4)
y = torch.bucketize(x[:, 0] + 0.5 * x[:, 1], torch.tensor([-0.5, 0.5]))  # feature 3 is pure noise
model = nn.Sequential(nn.Linear(4, 50), nn.ReLU(), nn.Linear(50, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(300):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
importance = perturbation_rank(model, x.clone(), y)
print(json.dumps({"symptom": importance[3] > 0.3, "importance": importance}))
