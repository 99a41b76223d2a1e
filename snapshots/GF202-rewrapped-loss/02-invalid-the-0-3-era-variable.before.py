from torch.autograd import Variable

loss = criterion(model(x), y)
loss = Variable(loss.data, requires_grad=True)
loss.backward()
