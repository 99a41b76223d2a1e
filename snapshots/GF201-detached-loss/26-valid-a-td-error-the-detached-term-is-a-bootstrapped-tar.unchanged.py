def td(q, target_net, s, a, r, s2):
    err = q(s).gather(1, a) - (r + 0.9 * target_net(s2).max(1)[0].detach())
    loss = err.pow(2).mean()
    loss.backward()
