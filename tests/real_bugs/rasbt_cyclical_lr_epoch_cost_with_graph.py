"""Shape of rasbt/deeplearning-models (commit 18e0469) pytorch_ipynb/tricks/cyclical-learning-rate.ipynb, the
three training cells: `epoch_avg_cost += cost` adds each minibatch's loss with its autograd graph, and at the
end of the epoch `collect['cost'].append(epoch_avg_cost / iter_per_ep)` stores that sum, graph and all, for
every epoch (150 in the notebook). The graph nodes of every minibatch of the run stay reachable, so memory
grows for the whole run.
Written for autofix (a small MLP for the ConvNet; upstream's SGD, lr 0.09); prints one JSON line: symptom =
the autograd nodes reachable from the collected costs grow with the number of epochs."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


def reachable_nodes(values):
    """Distinct autograd nodes reachable from the grad_fn of every tensor in a list."""
    seen, stack = set(), [v.grad_fn for v in values if getattr(v, "grad_fn", None) is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return len(seen)


model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 10))
cost_fn = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.09)
iter_per_ep = 20
collect = {'epoch': [], 'cost': []}
nodes = {}
for epoch in range(6):
    epoch_avg_cost = 0.
    model = model.train()
    for batch_idx in range(iter_per_ep):
        features, targets = torch.randn(32, 20), torch.randint(0, 10, (32,))
        logits = model(features)
        cost = cost_fn(logits, targets)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        epoch_avg_cost += cost
    epoch_avg_cost /= batch_idx + 1
    collect['epoch'].append(epoch + 1)
    collect['cost'].append(epoch_avg_cost / iter_per_ep)
    nodes[epoch + 1] = reachable_nodes(collect['cost'])

print(json.dumps({"symptom": nodes[6] > nodes[3] > 0, "nodes_after_3_epochs": nodes[3],
                  "nodes_after_6_epochs": nodes[6]}))
