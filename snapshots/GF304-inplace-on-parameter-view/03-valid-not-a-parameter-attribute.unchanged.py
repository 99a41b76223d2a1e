x = weights[0]
features[0] = 1.0
