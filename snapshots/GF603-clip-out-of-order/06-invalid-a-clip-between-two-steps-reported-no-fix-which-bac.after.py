import torch

for x, y in loader:
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    torch.nn.utils.clip_grad_norm_(G.parameters(), 1.0)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
