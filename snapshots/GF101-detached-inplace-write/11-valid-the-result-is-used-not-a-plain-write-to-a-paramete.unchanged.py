img = out.detach().clamp_(0, 1)
