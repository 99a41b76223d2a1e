def training_step(self, batch, idx):
    opt = self.optimizers()
    loss = self.compute(batch)
    self.manual_backward(loss)
    opt.zero_grad()
    opt.step()
