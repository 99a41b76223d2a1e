import torch
class EMA:
    def __init__(self, model):
        self.params = dict(model.named_parameters())
        self.shadow = {k: v.detach().clone() for k, v in self.params.items()}

    def swap_in(self):
        for name, param in self.params.items():
            with torch.no_grad():
                param.copy_(self.shadow[name])
