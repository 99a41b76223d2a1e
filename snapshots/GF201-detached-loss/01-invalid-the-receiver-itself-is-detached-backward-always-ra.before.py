score = (x @ w + b).detach()
score.backward()
