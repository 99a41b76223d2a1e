sgd.zero_grad()
batch_loss.backward()
if (n + 1) % every == 0:
    sgd.step()
