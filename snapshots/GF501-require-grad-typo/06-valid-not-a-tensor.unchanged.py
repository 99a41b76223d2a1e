config.require_grad = True
