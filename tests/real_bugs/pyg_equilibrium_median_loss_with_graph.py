"""Shape of pyg-team/pytorch_geometric (commit 5c6461b) examples/equilibrium_median.py: the training loop adds
each step's loss to `total_loss` after `loss.backward()` and `optimizer.step()`, with its autograd graph, and
never resets it (upstream runs 10,000,000 steps and only prints `total_loss / n_loss`). Every step's graph
nodes stay reachable from `total_loss`, so memory grows with every step for the whole run.
Written for autofix (a small MLP stands in for EquilibriumAggregation; upstream's Adam, lr 0.001); prints one
JSON line: symptom = the autograd nodes reachable from the accumulator grow with the number of steps."""
import json

import torch

torch.manual_seed(0)


def reachable_nodes(value):
    """Autograd nodes reachable from a tensor's grad_fn (0 for a float or a tensor without a graph)."""
    start = getattr(value, "grad_fn", None)
    seen, stack = set(), [start] if start is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return len(seen)


input_size = 100
model = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
total_loss = 0
n_loss = 0
nodes = {}
for i in range(1, 401):
    optimizer.zero_grad()
    x = torch.rand(input_size, 1)
    y = model(x).mean()
    loss = (y - x.median()).norm(2) / input_size
    loss.backward()
    optimizer.step()
    total_loss += loss
    n_loss += 1
    if i % 200 == 0:
        nodes[i] = reachable_nodes(total_loss)
        print(f"Step: {i}, Loss {total_loss / n_loss:.6f}")

print(json.dumps({"symptom": nodes[400] > nodes[200] > 0, "nodes_after_200_steps": nodes[200],
                  "nodes_after_400_steps": nodes[400]}))
