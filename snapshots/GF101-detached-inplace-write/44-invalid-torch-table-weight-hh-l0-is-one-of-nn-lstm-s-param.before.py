import torch.nn as nn

rnn = nn.LSTM(8, 16)
rnn.weight_hh_l0.data.uniform_(-0.1, 0.1)
