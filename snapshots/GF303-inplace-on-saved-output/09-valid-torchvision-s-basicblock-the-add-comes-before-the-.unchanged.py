def forward(self, x):
    identity = x
    out = self.bn2(self.conv2(x))
    out += identity
    out = self.relu(out)
    return out
