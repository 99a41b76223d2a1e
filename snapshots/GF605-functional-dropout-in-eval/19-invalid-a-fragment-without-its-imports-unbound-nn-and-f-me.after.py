class Head(nn.Module):
    def forward(self, x):
        return F.dropout(self.fc(x), 0.1, training=self.training)
