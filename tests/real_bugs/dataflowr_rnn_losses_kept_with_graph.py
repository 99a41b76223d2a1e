"""Shape of dataflowr/notebooks (commit 043dff0) Module11/11_RNN.ipynb, cells 34, 51 and 67: each of the three
training loops (40,000 single-sequence steps each) does `loss_t.append(loss)` after backward and step, and the
lists are kept for plotting after training. Every step's graph stays reachable; for the hand-written RNNs it is
unrolled over the sequence, so it holds a few dozen nodes per time step, for 40,000 steps per model.
Written for autofix (the notebook's RecNet; upstream's Adam, lr 1e-3); prints one JSON line: symptom = the
autograd nodes reachable from `loss_t` grow with the number of steps."""
import json
import random

import torch
import torch.nn as nn

torch.manual_seed(0)
random.seed(0)


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


class RecNet(nn.Module):
    def __init__(self, dim_input=10, dim_recurrent=50, dim_output=2):
        super(RecNet, self).__init__()
        self.fc_x2h = nn.Linear(dim_input, dim_recurrent)
        self.fc_h2h = nn.Linear(dim_recurrent, dim_recurrent, bias=False)
        self.fc_h2y = nn.Linear(dim_recurrent, dim_output)

    def forward(self, x):
        h = x.new_zeros(1, self.fc_h2y.weight.size(1))
        for t in range(x.size(0)):
            h = torch.relu(self.fc_x2h(x[t, :]) + self.fc_h2h(h))
        return self.fc_h2y(h)


RNN = RecNet()
cross_entropy = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(RNN.parameters(), lr=1e-3)
loss_t = []
nodes = {}
for k in range(1, 201):
    length = random.randint(4, 10)
    x = nn.functional.one_hot(torch.randint(0, 10, (length,)), 10).float()
    l = torch.randint(0, 2, (1,))
    y = RNN(x)
    loss = cross_entropy(y, l)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    loss_t.append(loss)
    if k % 100 == 0:
        nodes[k] = reachable_nodes(loss_t)

print(json.dumps({"symptom": nodes[200] > nodes[100] > 0, "nodes_after_100_steps": nodes[100],
                  "nodes_after_200_steps": nodes[200]}))
