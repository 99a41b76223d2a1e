def training_step(self, batch, idx):
    opt = self.optimizers()
    loss = self.compute(batch)
    opt.zero_grad()
    self.manual_backward(loss)
    opt.step()
