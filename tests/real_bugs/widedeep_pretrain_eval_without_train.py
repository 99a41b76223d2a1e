"""Shape of pytorch-widedeep (PyPI 1.7.0) self_supervised_training/encoder_decoder_trainer.py (and
contrastive_denoising_trainer.py), pretrain(): each epoch runs _train_step over the training batches, then
_eval_step, which calls `self.ed_model.eval()`, over the validation batches; nothing calls train() again
until the loop is over. From the second epoch on, pretraining runs with dropout off and BatchNorm
statistics frozen.
Written for autofix; prints one JSON line: symptom = some training steps ran in eval mode."""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)


class EncoderDecoderTrainer:
    def __init__(self, ed_model):
        self.ed_model = ed_model
        self.optimizer = torch.optim.Adam(ed_model.parameters(), lr=1e-3)
        self.loss_fn = nn.MSELoss()

    def pretrain(self, train_loader, eval_loader, n_epochs=3):
        for epoch in range(n_epochs):
            self.train_running_loss = 0.0
            for batch_idx, X in enumerate(train_loader):
                train_loss = self._train_step(X, batch_idx)
            self.valid_running_loss = 0.0
            for batch_idx, X in enumerate(eval_loader):
                val_loss = self._eval_step(X, batch_idx)
        self.ed_model.train()
        return train_loss, val_loss

    def _train_step(self, X_tab, batch_idx):
        self.optimizer.zero_grad()
        x_rec = self.ed_model(X_tab)
        loss = self.loss_fn(x_rec, X_tab)
        loss.backward()
        self.optimizer.step()
        self.train_running_loss += loss.item()
        return self.train_running_loss / (batch_idx + 1)

    def _eval_step(self, X_tab, batch_idx):
        self.ed_model.eval()
        with torch.no_grad():
            loss = self.loss_fn(self.ed_model(X_tab), X_tab)
            self.valid_running_loss += loss.item()
        return self.valid_running_loss / (batch_idx + 1)


ed_model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 6))
modes_seen_in_training = []  # the mode of each forward pass with gradients on (the training steps)
ed_model.register_forward_pre_hook(
    lambda module, args: modes_seen_in_training.append(module.training) if torch.is_grad_enabled() else None)
trainer = EncoderDecoderTrainer(ed_model)
train_loader = [torch.randn(32, 6) for _ in range(4)]
eval_loader = [torch.randn(32, 6) for _ in range(2)]
trainer.pretrain(train_loader, eval_loader)
in_eval = modes_seen_in_training.count(False)
print(json.dumps({"symptom": in_eval > 0, "training_steps_in_eval_mode": in_eval,
                  "training_steps": len(modes_seen_in_training)}))
