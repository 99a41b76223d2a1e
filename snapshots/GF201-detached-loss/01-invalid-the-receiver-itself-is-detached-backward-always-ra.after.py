score = (x @ w + b)
score.backward()
