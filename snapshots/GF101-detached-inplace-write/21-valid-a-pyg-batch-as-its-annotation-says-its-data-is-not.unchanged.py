from torch_geometric.data import Batch

def relabel(batch: Batch, value):
    batch.data[0] = value
    batch.data += value
    batch.data.mul_(2)
