import lightning as L
import torch.nn.functional as F


class Lit(L.LightningModule):
    def training_step(self, batch, idx):
        x, y = batch
        return F.cross_entropy(self.head(F.dropout(self.body(x), 0.1)), y)
