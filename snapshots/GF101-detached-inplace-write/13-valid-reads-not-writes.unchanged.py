x = p.data
y = w.detach() * 2
