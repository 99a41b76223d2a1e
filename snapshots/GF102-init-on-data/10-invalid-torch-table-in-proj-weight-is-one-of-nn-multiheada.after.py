import torch.nn as nn


class Attention(nn.MultiheadAttention):
    def _reset_parameters(self):
        nn.init.xavier_uniform_(self.in_proj_weight)
