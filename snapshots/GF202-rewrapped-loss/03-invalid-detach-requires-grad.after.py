loss = criterion(model(x), y)
loss.backward()
