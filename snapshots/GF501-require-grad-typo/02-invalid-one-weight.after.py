model.fc.weight.requires_grad = False
