architect.step(x_train, y_train, x_val, y_val, lr, optimizer)
loss = crit(model(x), y)
loss.backward()
