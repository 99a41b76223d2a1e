import torch.nn.functional as F


class Augmenter:
    def __call__(self, x):
        return F.dropout(x, 0.1)
