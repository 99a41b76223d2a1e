import torch.nn as nn

emb = nn.Embedding(10, 4)
nn.init.zeros_(emb.weight.data[0])
