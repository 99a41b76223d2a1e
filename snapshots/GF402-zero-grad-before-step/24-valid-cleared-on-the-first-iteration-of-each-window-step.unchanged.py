def train_step(trainer, net, opt, batch, k=8):
    if trainer.iteration % k == 0:
        opt.zero_grad()
    out = net(batch[0])
    (out - batch[1]).pow(2).mean().backward()
    if (trainer.iteration + 1) % k == 0:
        opt.step()
