def d_step(G, D, bce, real, z, zeros, ones):
    fake = G(z)
    d_loss = bce(D(fake.detach()), zeros) + bce(D(real), ones)
    d_loss.backward()
