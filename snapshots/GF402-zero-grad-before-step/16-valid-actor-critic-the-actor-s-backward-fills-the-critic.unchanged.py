import torch
import torch.nn as nn
import torch.nn.functional as F

actor = nn.Linear(6, 2)
critic = nn.Linear(8, 1)
actor_opt = torch.optim.Adam(actor.parameters())
critic_opt = torch.optim.Adam(critic.parameters())
for state, action, target in batches:
    actor_loss = -critic(torch.cat([state, actor(state)], 1)).mean()
    actor_opt.zero_grad()
    actor_loss.backward()
    actor_opt.step()
    critic_opt.zero_grad()
    critic_loss = F.mse_loss(critic(torch.cat([state, action], 1)), target)
    critic_loss.backward()
    critic_opt.step()
