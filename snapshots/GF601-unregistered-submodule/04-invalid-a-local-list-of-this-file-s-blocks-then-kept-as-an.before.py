import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        blocks = []
        for _ in range(3):
            block = Block()
            blocks.append(block)
        self.blocks = blocks
