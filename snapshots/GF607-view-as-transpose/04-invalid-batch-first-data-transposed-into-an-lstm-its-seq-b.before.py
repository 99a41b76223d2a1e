import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)

    def forward(self, inputs):
        batch_size, seq_len, _ = inputs.shape
        out, _ = self.lstm(inputs.transpose(0, 1))
        return out.view(batch_size, seq_len, -1)
