dataset.data.mul_(255)
batch.data[0] = 1
