def train(accelerator, model, loader):
    for batch in loader:
        out = model(batch)
        loss = out.mean()
        accelerator.backward(loss)
