import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 5)
        self.criterion = nn.NLLLoss()

    def forward(self, x):
        return self.fc(x)

    def training_loss(self, x, y):
        return self.criterion(F.log_softmax(self(x), dim=1), y)
