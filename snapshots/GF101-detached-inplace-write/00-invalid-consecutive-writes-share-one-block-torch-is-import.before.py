self.linear.weight.detach().zero_()
self.linear.bias.detach().zero_()
