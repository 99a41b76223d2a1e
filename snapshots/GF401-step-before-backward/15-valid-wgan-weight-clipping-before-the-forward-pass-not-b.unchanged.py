import torch


def critic_step(critic, opt, real, fake, clip=0.01):
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-clip, clip)
    loss = critic(fake).mean() - critic(real).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
