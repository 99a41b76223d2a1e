def d_step(G, D, bce, real, z, labels, zeros, ones):
    fake = G(z, labels)
    d_loss = bce(D(fake.detach(), labels), zeros) + bce(D(real, labels), ones)
    d_loss.backward()
