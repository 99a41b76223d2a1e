class M(nn.Module):
    def forward(self, x):
        with torch.no_grad():
            x.clamp_(0, 1)
        return x
