def train(model, loader, opt, criterion, accumulate=4):
    for x, y in loader:
        opt.zero_grad()
        for part_x, part_y in zip(x.chunk(accumulate), y.chunk(accumulate)):
            loss = criterion(model(part_x), part_y) / accumulate
            loss.backward()
        opt.step()
