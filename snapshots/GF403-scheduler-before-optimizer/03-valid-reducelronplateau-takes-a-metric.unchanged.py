for epoch in range(epochs):
    train(model, optimizer)
    scheduler.step(val_loss)
