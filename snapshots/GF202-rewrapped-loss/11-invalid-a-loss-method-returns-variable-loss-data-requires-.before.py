import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(8, 3)

    def loss(self, x, y):
        value = F.cross_entropy(self.head(x), y)
        return Variable(value.data, requires_grad=True)
