torch.nn.init.zeros_(p)
