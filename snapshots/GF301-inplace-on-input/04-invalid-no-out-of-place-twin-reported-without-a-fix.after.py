class M(nn.Module):
    def forward(self, x):
        x.zero_()
        return x
