for p in model.backbone.parameters():
    p.requires_grad = False
