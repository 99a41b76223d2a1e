import numpy as np
import torch
import torch.nn as nn


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.log_alpha = torch.tensor(np.log(0.01))
        self.log_alpha.requires_grad = True

    def alpha_step(self, s, opt):
        entropy = -self.fc(s).sum()
        loss = -(self.log_alpha.exp() * (entropy + 1.0).detach()).mean()
        loss.backward()
        opt.step()
