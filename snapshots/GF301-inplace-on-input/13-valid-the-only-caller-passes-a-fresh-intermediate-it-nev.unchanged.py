import torch
import torch.nn as nn


class SpeechEncoder(nn.Module):
    def forward(self, hidden_states: torch.Tensor, padding: torch.Tensor):
        hidden_states[padding] = 0.0
        return self.layers(hidden_states)


class SpeechModel(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.project = nn.Linear(dim, dim)
        self.encoder = SpeechEncoder()

    def forward(self, features, padding):
        hidden_states = self.project(features)
        hidden_states = self.encoder(hidden_states, padding)
        return hidden_states
