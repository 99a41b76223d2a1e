from torchvision.datasets import MNIST

train = MNIST('.', download=True)
train.data.div_(255)
