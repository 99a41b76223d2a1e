m.weight.data.zero_()  # autofix: ignore[GF101]
