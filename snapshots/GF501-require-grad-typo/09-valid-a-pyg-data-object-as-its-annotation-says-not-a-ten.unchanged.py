from torch_geometric.data import Data

def f(data: Data):
    data.require_grad = True
