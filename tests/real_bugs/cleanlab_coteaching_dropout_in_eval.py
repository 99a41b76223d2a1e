"""Shape of cleanlab (PyPI 2.9.0; cleanlab/cleanlab @ 7506257) cleanlab/experimental/cifar_cnn.py:85 and :94,
CNN.forward (the co-teaching network): `F.dropout2d(h, p=self.dropout_rate)` without `training=`, so
coteaching.evaluate(), which puts both networks in eval mode, still drops whole feature maps: the test
accuracy it reports is computed with dropout on and changes from call to call.
Written for autofix; prints one JSON line: symptom = two eval calls on the same input differ."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class CNN(nn.Module):
    def __init__(self, input_channel=3, n_outputs=10, dropout_rate=0.25):
        self.dropout_rate = dropout_rate
        super().__init__()
        self.c1 = nn.Conv2d(input_channel, 8, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.l_c1 = nn.Linear(8, n_outputs)

    def forward(self, x):
        h = F.leaky_relu(self.bn1(self.c1(x)), negative_slope=0.01)
        h = F.max_pool2d(h, kernel_size=2, stride=2)
        h = F.dropout2d(h, p=self.dropout_rate)
        h = F.leaky_relu(self.bn2(self.c2(h)), negative_slope=0.01)
        h = F.avg_pool2d(h, kernel_size=h.shape[2])
        return self.l_c1(h.view(h.size(0), h.size(1)))


def evaluate(images, model1):
    model1.eval()
    with torch.no_grad():
        return model1(images)


model = CNN()
images = torch.randn(4, 3, 8, 8)
difference = (evaluate(images, model) - evaluate(images, model)).abs().max().item()
print(json.dumps({"symptom": difference > 1e-6, "eval_output_difference": difference}))
