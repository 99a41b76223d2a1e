"""Deliberate detaches and non-tensor `.data`: autofix must leave every line alone."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def gan_step(G, D, opt_d, real, z):
    fake = G(z)
    d_loss = F.binary_cross_entropy(D(fake.detach()), torch.zeros(len(z), 1))
    d_loss = d_loss + F.binary_cross_entropy(D(real), torch.ones(len(real), 1))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    print("d_loss", d_loss.detach().item())


def tbptt(rnn, chunks, hidden):
    for chunk in chunks:
        out, hidden = rnn(chunk, hidden)
        hidden = hidden.detach()
    return out


def init(model, dataset):
    with torch.no_grad():
        model.weight.zero_()
    nn.init.zeros_(model.bias)
    dataset.data.mul_(255)
    images = dataset.data[:16]
    return images.float()


def to_image(out):
    return out.detach().clamp_(0, 1).cpu()
