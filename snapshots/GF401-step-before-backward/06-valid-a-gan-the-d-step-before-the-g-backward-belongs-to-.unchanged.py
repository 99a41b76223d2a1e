for x, y in loader:
    d_loss = bce(D(G(z).detach()), zeros)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(G(z)), ones)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
