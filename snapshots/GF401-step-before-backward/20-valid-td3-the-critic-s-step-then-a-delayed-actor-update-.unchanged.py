import torch
import torch.nn.functional as F


class TD3:
    def __init__(self, actor, critic, actor_target, critic_target):
        self.actor, self.critic = actor, critic
        self.actor_target, self.critic_target = actor_target, critic_target
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.total_it = 0

    def train(self, state, action, reward, next_state, policy_freq=2, tau=0.005):
        self.total_it += 1
        with torch.no_grad():
            target_q = reward + 0.99 * self.critic_target(next_state, self.actor_target(next_state))
        critic_loss = F.mse_loss(self.critic(state, action), target_q)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        if self.total_it % policy_freq == 0:
            actor_loss = -self.critic(state, self.actor(state)).mean()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            with torch.no_grad():
                for p, t in zip(self.critic.parameters(), self.critic_target.parameters()):
                    t.mul_(1 - tau).add_(tau * p)
