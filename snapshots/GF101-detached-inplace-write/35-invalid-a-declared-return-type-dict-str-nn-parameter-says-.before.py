from typing import Dict

import torch.nn as nn


class Finetuner:
    def trainable(self) -> Dict[str, nn.Parameter]:
        return {}

    def reset(self):
        for name, p in self.trainable().items():
            p.data[:] = 0
