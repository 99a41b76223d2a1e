for name, param in model.named_parameters():
    if 'head' in name:
        param.requires_grad = True
