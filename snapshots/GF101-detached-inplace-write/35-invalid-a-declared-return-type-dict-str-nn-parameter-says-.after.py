from typing import Dict

import torch.nn as nn
import torch


class Finetuner:
    def trainable(self) -> Dict[str, nn.Parameter]:
        return {}

    def reset(self):
        for name, p in self.trainable().items():
            with torch.no_grad():
                p[:] = 0
