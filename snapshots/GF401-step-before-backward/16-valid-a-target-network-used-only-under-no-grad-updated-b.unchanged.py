import torch


def dqn_step(q_net, target_net, opt, s, a, r, s2, tau=0.01):
    with torch.no_grad():
        target = r + target_net(s2).max(1)[0]
    loss = ((q_net(s).gather(1, a) - target) ** 2).mean()
    with torch.no_grad():
        for p in target_net.parameters():
            p.mul_(1 - tau)
    opt.zero_grad()
    loss.backward()
    opt.step()
