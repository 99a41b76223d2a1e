import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(16, 32)
        self.out = nn.Linear(32, 5)

    def forward(self, x):
        seq_len, batch = x.size(0), x.size(1)
        out, _ = self.rnn(x)
        return self.out(out.transpose(0, 1))
