import torch.nn as nn

emb = nn.Embedding(10, 4)
emb.bias.data.zero_()
