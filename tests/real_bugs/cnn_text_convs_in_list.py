"""Shape of bamtercelboo/cnn-lstm-bilstm-deepcnn-clstm-in-pytorch (commit 71b8c3f) models/model_CNN.py:50-54,
CNN_Text.__init__: the convolutions over the word embeddings are kept in a plain Python list
(`self.convs1 = [nn.Conv2d(...) for K in Ks]`). They are not registered: the optimizer never updates them (the
model trains only its embedding and the final Linear on top of random, fixed convolution features), and they
are missing from state_dict(), so a saved model reloads with fresh random convolutions. The same list is in
eleven other models of the repository (CNN_LSTM, CNN_BiLSTM, CNN_BiGRU, CLSTM, CBiLSTM, CGRU, DEEP_CNN, ...).
Upstream's optimizer: Adam(lr=0.001). Written for autofix; prints one JSON line: symptom = the convolutions
never moved in training."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class CNN_Text(nn.Module):
    def __init__(self, V=50, D=16, C=2, Co=8, Ks=(3, 4, 5)):
        super(CNN_Text, self).__init__()
        self.embed = nn.Embedding(V, D)
        self.convs1 = [nn.Conv2d(in_channels=1, out_channels=Co, kernel_size=(K, D), bias=True) for K in Ks]
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(len(Ks) * Co, C)

    def forward(self, x):
        x = self.embed(x).unsqueeze(1)
        x = [F.relu(conv(x)).squeeze(3) for conv in self.convs1]
        x = [F.max_pool1d(i, i.size(2)).squeeze(2) for i in x]
        return self.fc(self.dropout(torch.cat(x, 1)))


model = CNN_Text()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
tokens = torch.randint(0, 50, (32, 12))
labels = torch.randint(0, 2, (32,))
before = model.convs1[0].weight.detach().clone()
model.train()
for step in range(10):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(tokens), labels)
    loss.backward()
    optimizer.step()
moved = (model.convs1[0].weight.detach() - before).abs().max().item()
saved = any("convs1" in key for key in model.state_dict())
print(json.dumps({"symptom": moved == 0.0, "convolution_moved": moved, "in_state_dict": saved}))
