from accelerate import Accelerator


def train(accelerator: Accelerator, model, loader):
    for batch in loader:
        out = model(batch)
        loss = out.detach().mean()
        accelerator.backward(loss)
