class M(nn.Module):
    def forward(self, x, scale):
        x *= scale + 1
        return x
