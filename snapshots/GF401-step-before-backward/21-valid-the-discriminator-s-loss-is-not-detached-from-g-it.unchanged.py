def gan_step(G, D, opt_g, opt_d, bce, real, z, ones, zeros):
    opt_d.zero_grad()
    opt_g.zero_grad()
    d_loss = bce(D(real), ones) + bce(D(G(z)), zeros)
    d_loss.backward()
    opt_d.step()
    opt_g.step()
