import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(8, 8) for _ in range(2)]
        for i, layer in enumerate(self.layers):
            self.add_module(f"layer{i}", layer)
