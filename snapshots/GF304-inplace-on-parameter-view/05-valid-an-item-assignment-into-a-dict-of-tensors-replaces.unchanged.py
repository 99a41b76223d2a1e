import torch
from typing import Dict, Optional


class RelationStore:
    def __init__(self, weights, order):
        self.weight: Optional[Dict[str, torch.Tensor]] = None
        if weights is not None:
            self.weight = dict(weights)
            for name, w in self.weight.items():
                self.weight[name] = w[order[name]]
