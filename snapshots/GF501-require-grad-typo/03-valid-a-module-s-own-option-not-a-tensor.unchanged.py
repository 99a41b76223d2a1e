self.require_grad = require_grad
