class M(nn.Module):
    def forward(self, x):
        h = torch.zeros_like(x)
        h += x
        return h
