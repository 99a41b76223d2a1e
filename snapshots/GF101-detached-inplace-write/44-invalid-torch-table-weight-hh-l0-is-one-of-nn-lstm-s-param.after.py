import torch.nn as nn
import torch

rnn = nn.LSTM(8, 16)
with torch.no_grad():
    rnn.weight_hh_l0.uniform_(-0.1, 0.1)
