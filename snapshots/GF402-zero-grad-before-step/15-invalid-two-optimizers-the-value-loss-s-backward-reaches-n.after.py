import torch
import torch.nn as nn
import torch.nn.functional as F

policy = nn.Linear(6, 2)
value = nn.Linear(6, 1)
opt_policy = torch.optim.Adam(policy.parameters())
opt_value = torch.optim.Adam(value.parameters())
for states, advantages, returns in batches:
    policy_loss = -(F.log_softmax(policy(states), dim=-1).sum(-1) * advantages).mean()
    value_loss = F.mse_loss(value(states), returns)
    opt_policy.zero_grad()
    policy_loss.backward()
    value_loss.backward()
    opt_policy.step()
    opt_value.step()
