"""Shape of espnet (PyPI 202511) espnet/nets/pytorch_backend/rnn/encoders.py:91, RNNP.forward: between
the projected BLSTM layers it calls `F.dropout(xs_pad, p=self.dropout)` without `training=`, whose default
is True, so the encoder keeps dropping activations after model.eval(): recognition is random and
run-to-run different. (The plain RNN encoder beside it uses the LSTM's own dropout, which eval turns off.)
Written for autofix; prints one JSON line: symptom = two eval calls on the same input differ."""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)


class RNNP(torch.nn.Module):
    def __init__(self, idim=6, elayers=2, cdim=8, hdim=8, dropout=0.2):
        super().__init__()
        for i in range(elayers):
            inputdim = idim if i == 0 else hdim
            setattr(self, "birnn%d" % i, torch.nn.LSTM(inputdim, cdim, num_layers=1, bidirectional=True,
                                                      batch_first=True))
            setattr(self, "bt%d" % i, torch.nn.Linear(2 * cdim, hdim))
        self.elayers = elayers
        self.dropout = dropout

    def forward(self, xs_pad):
        for layer in range(self.elayers):
            rnn = getattr(self, "birnn%d" % layer)
            ys_pad, _ = rnn(xs_pad)
            projection_layer = getattr(self, "bt%d" % layer)
            projected = projection_layer(ys_pad.contiguous().view(-1, ys_pad.size(2)))
            xs_pad = projected.view(ys_pad.size(0), ys_pad.size(1), -1)
            if layer < self.elayers - 1:
                xs_pad = torch.tanh(F.dropout(xs_pad, p=self.dropout))
        return xs_pad


encoder = RNNP()
encoder.eval()
x = torch.randn(2, 7, 6)
with torch.no_grad():
    first, second = encoder(x), encoder(x)
difference = (first - second).abs().max().item()
print(json.dumps({"symptom": difference > 1e-6, "eval_output_difference": difference}))
