import torch.nn.functional as F

def td(q_net, target_net, s, a, r, s2, gamma):
    target = r + gamma * target_net(s2).max(1)[0].detach()
    loss = F.smooth_l1_loss(q_net(s).gather(1, a), target)
    loss.backward()
