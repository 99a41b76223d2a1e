for p in model.backbone.parameters():
    p.require_grad = False
