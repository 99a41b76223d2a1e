class M(nn.Module):
    def forward(self, x, scale):
        x = x * (scale + 1)
        return x
