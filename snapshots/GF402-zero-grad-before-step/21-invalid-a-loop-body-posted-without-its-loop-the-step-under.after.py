batch_loss.backward()
if (n + 1) % every == 0:
    sgd.step()
    sgd.zero_grad()
