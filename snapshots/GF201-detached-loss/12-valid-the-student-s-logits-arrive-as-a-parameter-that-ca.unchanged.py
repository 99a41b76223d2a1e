import torch.nn.functional as F

def distill_loss(student_logits, teacher, x):
    target = teacher(x).detach()
    loss = F.kl_div(student_logits, target)
    loss.backward()
