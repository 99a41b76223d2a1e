model.fc.weight.require_grad = False
