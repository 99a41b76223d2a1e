import torch


class Runner:
    def __init__(self, net, opt, amp):
        self.net, self.opt = net, opt
        self.amp = amp
        self.scaler = torch.amp.GradScaler('cuda', enabled=amp)

    def step(self, loss):
        self.opt.zero_grad()
        if self.amp:
            self.scaler.scale(loss).backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
            self.opt.step()
