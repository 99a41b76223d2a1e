def fit(env, policy, opt):
    for episode in range(10):
        opt.zero_grad()
        policy.loss().backward()
        opt.step()
        env.eval()
