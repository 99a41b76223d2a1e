def train(model, loader, opt, criterion, accumulate=4):
    for x, y in loader:
        for part_x, part_y in zip(x.chunk(accumulate), y.chunk(accumulate)):
            loss = criterion(model(part_x), part_y) / accumulate
            loss.backward()
        opt.zero_grad()
        opt.step()
