from torch.autograd import Variable

loss = criterion(model(x), y)
loss.backward()
