"""A small image tagger with three silent training mistakes that autofix fixes safely."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class PixelTagger(nn.Module):
    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.head = nn.Linear(channels, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n, c, h, w = images.shape
        pixels = images.view(n, h * w, c)  # one row of channels per pixel
        return self.head(pixels)


def train(model: PixelTagger, loader, optimizer, epochs: int = 3):
    history = []
    for epoch in range(epochs):
        running_loss = 0.0
        for images, labels in loader:
            optimizer.zero_grad()
            logits = model(images).flatten(0, 1)
            loss = F.cross_entropy(F.softmax(logits, dim=-1), labels.flatten())
            loss.backward()
            optimizer.step()
            running_loss += loss
        history.append(running_loss / len(loader))
        print(f"epoch {epoch}: {history[-1]:.4f}")
    return history


def calibrate(model: PixelTagger, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    log_probs = F.log_softmax(model(images).flatten(0, 1), dim=-1)
    return F.nll_loss(torch.exp(log_probs), labels.flatten())
