import lightning as L
import torch
import torch.nn.functional as F


class Model(L.LightningModule):
    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        return loss
