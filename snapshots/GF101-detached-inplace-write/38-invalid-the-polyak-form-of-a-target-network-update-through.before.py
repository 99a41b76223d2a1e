import torch.nn as nn

actor, actor_targ = nn.Linear(4, 2), nn.Linear(4, 2)


def polyak_update(polyak):
    for p, p_targ in zip(actor.parameters(), actor_targ.parameters()):
        p_targ.data.mul_(polyak)
        p_targ.data.add_((1 - polyak) * p.data)
