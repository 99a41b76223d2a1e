class M(nn.Module):
    def forward(self, x):
        x = x + self.pos_embedding
        return self.net(x)
