def tbptt(rnn, head, criterion, chunks, h):
    for x, y in chunks:
        out, h = rnn(x, h)
        loss = criterion(head(out), y)
        loss.backward()
        h = h.detach()
