import itertools


class Averager:
    def __init__(self, model, decay):
        self.decay = decay
        self.tensors = list(itertools.chain(model.parameters(), model.buffers()))

    def shrink(self):
        for t in self.tensors:
            t.data.mul_(self.decay)
