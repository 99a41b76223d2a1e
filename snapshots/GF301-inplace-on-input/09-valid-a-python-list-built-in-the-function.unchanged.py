class M(nn.Module):
    def forward(self, x):
        outs = []
        outs.append(x)
        outs[0] = x * 2
        return outs
