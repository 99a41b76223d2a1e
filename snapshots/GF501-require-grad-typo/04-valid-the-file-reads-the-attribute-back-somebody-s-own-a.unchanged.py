for p in model.parameters():
    p.require_grad = False
if p.require_grad:
    pass
