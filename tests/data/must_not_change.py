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


def dqn_step(q_net, target_net, opt, batch, gamma=0.99):
    s, a, r, s2, done = batch
    with torch.no_grad():
        next_q = target_net(s2).max(1)[0]
    target = r + gamma * (1 - done) * next_q
    q = q_net(s).gather(1, a.unsqueeze(1)).squeeze(1)
    loss = F.smooth_l1_loss(q, target.detach())
    opt.zero_grad()
    loss.backward()
    opt.step()


def distill(student, teacher, x, T=2.0):
    teacher_logits = teacher(x).detach()
    loss = F.kl_div(F.log_softmax(student(x) / T, -1), F.softmax(teacher_logits / T, -1), reduction="batchmean")
    loss.backward()
    return loss.item()


def accumulate(model, criterion, batches, log):
    losses = []
    for x, y in batches:
        losses.append(criterion(model(x), y))
        log([l.item() for l in losses])
    sum(losses).backward()
