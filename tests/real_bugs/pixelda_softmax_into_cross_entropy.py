"""Shape of eriklindernoren/PyTorch-GAN (commit 36d3c77) implementations/pixelda/pixelda.py: the task
Classifier ends in nn.Softmax() and its output goes to nn.CrossEntropyLoss, which applies log_softmax
itself. Softmax is applied twice: the loss cannot fall below log(1 + 9/e) = 1.46 for ten classes, and its
gradients shrink several-fold, so the classifier learns more slowly. The optimizer is upstream's: Adam with
lr=0.0002 and betas=(0.5, 0.999) (pixelda.py's defaults). Adam rescales the smaller gradients, so the accuracy
gap is smaller than under SGD; the first step's gradient norm does not depend on the optimizer.
Written for autofix; prints one JSON line with the first step's gradient norm and the accuracy after
training; the test compares them with the fixed program."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)
n_classes, features = 10, 20


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(features, 64), nn.LeakyReLU(0.2, inplace=True))
        self.output_layer = nn.Sequential(nn.Linear(64, n_classes), nn.Softmax(dim=1))

    def forward(self, img):
        feature_repr = self.model(img)
        label = self.output_layer(feature_repr)
        return label


centres = torch.randn(n_classes, features) * 2
labels_A = torch.randint(0, n_classes, (512,))
imgs_A = centres[labels_A] + torch.randn(512, features)

classifier = Classifier()
task_loss = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(classifier.parameters(), lr=0.0002, betas=(0.5, 0.999))
first_grad_norm = None
for step in range(100):
    optimizer.zero_grad()
    loss = task_loss(classifier(imgs_A), labels_A)
    loss.backward()
    if first_grad_norm is None:
        first_grad_norm = torch.cat([p.grad.flatten() for p in classifier.parameters()]).norm().item()
    optimizer.step()
final_loss = loss.item()
with torch.no_grad():
    accuracy = (classifier(imgs_A).argmax(dim=1) == labels_A).float().mean().item()
print(json.dumps({"first_grad_norm": first_grad_norm, "accuracy": accuracy, "final_loss": final_loss}))
