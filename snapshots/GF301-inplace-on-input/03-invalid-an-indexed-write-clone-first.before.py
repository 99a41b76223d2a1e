class M(nn.Module):
    def forward(self, x, mask):
        x[mask] = 0
        return self.net(x)
