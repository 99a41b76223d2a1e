import itertools
import torch


class Averager:
    def __init__(self, model, decay):
        self.decay = decay
        self.tensors = list(itertools.chain(model.parameters(), model.buffers()))

    def shrink(self):
        for t in self.tensors:
            with torch.no_grad():
                t.mul_(self.decay)
