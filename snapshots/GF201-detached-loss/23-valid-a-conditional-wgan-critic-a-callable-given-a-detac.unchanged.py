def critic_step(G, D, real, z, labels):
    fake = G(z, labels)
    d_loss = D(fake.detach(), labels).mean() - D(real, labels).mean()
    d_loss.backward()
