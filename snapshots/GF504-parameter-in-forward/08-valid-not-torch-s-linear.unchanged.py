from mylayers import Linear
class M:
    def forward(self, x):
        return Linear(4, 8)(x)
