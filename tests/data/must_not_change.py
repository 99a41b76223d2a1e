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


def train_accumulate(model, loader, optimizer, scheduler, criterion, accum=4):
    optimizer.zero_grad()
    for i, (x, y) in enumerate(loader):
        loss = criterion(model(x), y) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()


def train_amp_ema(model, ema_model, loader, opt, scaler, criterion, decay=0.999):
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda"):
            loss = criterion(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        with torch.no_grad():
            for e, p in zip(ema_model.parameters(), model.parameters()):
                e.mul_(decay).add_(p, alpha=1 - decay)


def wgan_critic(critic, opt_c, real, fake, clip=0.01):
    opt_c.zero_grad()
    loss = critic(fake.detach()).mean() - critic(real).mean()
    loss.backward()
    opt_c.step()
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-clip, clip)


def maml_inner(model, loss_fn, x, y, meta_opt, lr=0.01):
    loss = loss_fn(model(x), y)
    grads = torch.autograd.grad(loss, list(model.parameters()), create_graph=True)
    fast = [p - lr * g for p, g in zip(model.parameters(), grads)]
    meta_loss = loss_fn(model.functional(x, fast), y)
    meta_opt.zero_grad()
    meta_loss.backward()
    meta_opt.step()


# GF5xx: the correct spellings of the patterns the GF5xx rules report.
class MovedFirst(nn.Module):
    def __init__(self, dim, device):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim).to(device))  # moved before wrapping: a real Parameter
        self.proj = nn.Linear(dim, dim).to(device)  # Module.to moves in place and returns the module
        self.bias = nn.Parameter(torch.zeros(dim, device=device))
        self.enabled = True
        self.require_grad = False  # the module's own option, not a tensor's

    def forward(self, x):
        return nn.functional.gelu(self.proj(x * self.scale) + self.bias)


def leaves_on_device(device):
    w = torch.randn(784, 10, device=device, requires_grad=True)
    b = torch.zeros(10).to(device).requires_grad_()
    return torch.optim.SGD([w, b], lr=0.1)


def manual_sgd(model, loss_fn, x, y, lr=0.1):
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
            p.grad = None


def functional_step(w, x, y, lr=0.1):
    loss = ((x @ w - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w = w - lr * w.grad
    w.requires_grad_()  # a fresh leaf every step, on purpose
    return w


def linear_probe(model, lr=1e-3):
    model.requires_grad_(False)
    model.head.requires_grad_(True)
    return torch.optim.Adam(model.parameters(), lr=lr)
