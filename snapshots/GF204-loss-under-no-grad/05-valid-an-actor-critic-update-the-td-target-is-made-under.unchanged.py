import torch
import torch.nn.functional as F


def update(critic, critic_target, actor, batch, opt, gamma):
    state, action, reward, next_state, done = batch
    with torch.no_grad():
        next_action = actor(next_state)
        target_q = critic_target(next_state, next_action)
        target_q = reward + gamma * (1 - done) * target_q
    current_q = critic(state, action)
    loss = F.mse_loss(current_q, target_q)
    opt.zero_grad()
    loss.backward()
    opt.step()
