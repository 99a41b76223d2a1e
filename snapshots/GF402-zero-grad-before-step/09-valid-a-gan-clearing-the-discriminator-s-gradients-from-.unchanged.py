for real, z in loader:
    opt_d.zero_grad()
    bce(D(real), ones).backward()
    opt_d.step()
    g_loss = bce(D(G(z)), ones)
    opt_g.zero_grad()
    g_loss.backward()
    D.zero_grad()
    opt_g.step()
