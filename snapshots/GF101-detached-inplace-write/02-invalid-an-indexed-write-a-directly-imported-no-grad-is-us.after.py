from torch import no_grad

def init(module):
    with no_grad():
        module.weight[module.padding_idx].zero_()
