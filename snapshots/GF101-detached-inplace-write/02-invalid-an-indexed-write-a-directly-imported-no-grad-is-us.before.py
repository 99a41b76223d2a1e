from torch import no_grad

def init(module):
    module.weight.data[module.padding_idx].zero_()
