"""Shape of speechbrain 1.1.2 (newest) speechbrain/processing/features.py:824, DCT.forward: for multi-channel
features of shape (batch, time, n_mels, channels), it does `x.reshape(batch * channels, time, n_mels)` without
moving the channel axis first, applies the DCT along the last axis, and reshapes back. Since the channels are
the innermost axis in memory, each "row" it transforms interleaves several mel bins of several channels, so the
cepstral coefficients are wrong for every input with more than one channel (with one channel it is harmless).
Written for autofix; prints one JSON line: symptom = the output differs from the DCT applied channel by channel."""
import json
import math

import torch

torch.manual_seed(0)


class DCT(torch.nn.Module):
    def __init__(self, input_size=8, n_out=5):
        super().__init__()
        n = torch.arange(float(input_size))
        k = torch.arange(float(n_out)).unsqueeze(1)
        self.dct_mat = (torch.cos(math.pi / float(input_size) * (n + 0.5) * k) * math.sqrt(2.0 / input_size)).t()

    def forward(self, x):
        input_shape = x.shape
        if len(input_shape) == 4:
            x = x.reshape(x.shape[0] * x.shape[3], x.shape[1], x.shape[2])
        dct = torch.matmul(x, self.dct_mat.to(x.device))
        if len(input_shape) == 4:
            dct = dct.reshape(input_shape[0], dct.shape[1], dct.shape[2], input_shape[3])
        return dct


dct = DCT()
features = torch.randn(2, 6, 8, 3)  # (batch, time, n_mels, channels)
output = dct(features)
per_channel = torch.stack([dct(features[..., c]) for c in range(features.shape[3])], dim=-1)
difference = (output - per_channel).abs().max().item()
print(json.dumps({"symptom": difference > 1e-5, "max_difference_from_per_channel_dct": difference}))
