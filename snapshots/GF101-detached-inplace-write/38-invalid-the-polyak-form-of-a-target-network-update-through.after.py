import torch.nn as nn
import torch

actor, actor_targ = nn.Linear(4, 2), nn.Linear(4, 2)


def polyak_update(polyak):
    for p, p_targ in zip(actor.parameters(), actor_targ.parameters()):
        with torch.no_grad():
            p_targ.mul_(polyak)
            p_targ.add_((1 - polyak) * p.data)
