from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform


class ClipEdgeWeights(BaseTransform):
    def forward(self, data: Data) -> Data:
        for key, value in data.items():
            if key.endswith('_weight'):
                data[key] = value.clamp(min=0.0)
        return data
