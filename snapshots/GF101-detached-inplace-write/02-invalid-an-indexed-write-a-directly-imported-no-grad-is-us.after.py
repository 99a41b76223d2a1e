from torch import nn, no_grad

def init(module):
    if isinstance(module, nn.Embedding):
        with no_grad():
            module.weight[module.padding_idx].zero_()
