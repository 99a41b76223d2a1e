"""Shape of rasbt/deeplearning-models (commit 18e0469) pytorch_ipynb/gan/gan.ipynb, the training cell: after
each generator and discriminator step, `gener_costs.append(gener_loss)` and `discr_costs.append(discr_loss)`
keep both losses with their autograd graphs, for every iteration of every epoch (the lists are only plotted
at the end). Every iteration's graph nodes stay reachable, so memory grows for the whole run.
Written for autofix (small MLPs for the generator and discriminator, upstream's Adam with lr 0.001); prints
one JSON line: symptom = the autograd nodes reachable from `gener_costs` grow with the number of iterations.
(`discr_costs` keeps its graphs the same way, and autofix reports it in the notebook; in this program's shape,
where the fake term is detached, autofix misses it: a false negative, so it is left out of the measurement.)"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
LATENT_DIM, IMG_SIZE = 8, 16


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


generator = nn.Sequential(nn.Linear(LATENT_DIM, 32), nn.LeakyReLU(0.0001), nn.Linear(32, IMG_SIZE), nn.Tanh())
discriminator = nn.Sequential(nn.Linear(IMG_SIZE, 32), nn.LeakyReLU(0.0001), nn.Linear(32, 1), nn.Sigmoid())
optim_gener = torch.optim.Adam(generator.parameters(), lr=0.001)
optim_discr = torch.optim.Adam(discriminator.parameters(), lr=0.001)

discr_costs = []
gener_costs = []
nodes = {}
for batch_idx in range(1, 201):
    features = torch.rand(32, IMG_SIZE) * 2 - 1
    valid, fake = torch.ones(32), torch.zeros(32)

    z = torch.zeros((32, LATENT_DIM)).uniform_(-1.0, 1.0)
    generated_features = generator(z)
    gener_loss = F.binary_cross_entropy(discriminator(generated_features).view(-1), valid)
    optim_gener.zero_grad()
    gener_loss.backward()
    optim_gener.step()

    real_loss = F.binary_cross_entropy(discriminator(features).view(-1), valid)
    fake_loss = F.binary_cross_entropy(discriminator(generated_features.detach()).view(-1), fake)
    discr_loss = 0.5 * (real_loss + fake_loss)
    optim_discr.zero_grad()
    discr_loss.backward()
    optim_discr.step()

    discr_costs.append(discr_loss)
    gener_costs.append(gener_loss)
    if batch_idx % 100 == 0:
        nodes[batch_idx] = reachable_nodes(gener_costs)

print(json.dumps({"symptom": nodes[200] > nodes[100] > 0, "nodes_after_100_iterations": nodes[100],
                  "nodes_after_200_iterations": nodes[200]}))
