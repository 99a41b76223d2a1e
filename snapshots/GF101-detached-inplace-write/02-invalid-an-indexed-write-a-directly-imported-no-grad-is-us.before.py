from torch import nn, no_grad

def init(module):
    if isinstance(module, nn.Embedding):
        module.weight.data[module.padding_idx].zero_()
