import torch
import torch.nn.functional as F


def train(critic, target_critic, batch, opt, gamma):
    obs, act, nxt, rew, done = batch
    with torch.no_grad():
        target = rew + gamma * (1 - done) * target_critic(nxt)
    current_q_values = critic(obs, act)
    loss = sum(F.mse_loss(q, target) for q in current_q_values)
    loss.backward()
    opt.step()
