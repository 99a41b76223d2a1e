import torch
import torch.nn as nn


class Attention(nn.Module):
    def _weights(self, q, k):
        w = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return torch.nn.functional.dropout(
            w,
            self.p,
            training=self.training,
        )
