from torch.optim import AdamW


def finetune(encoder):
    encoder.requires_grad_(requires_grad=False)
    return AdamW(encoder.parameters(), lr=1e-5)
