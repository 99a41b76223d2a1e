import os


def scale(values):
    unused = 2
    return [v for v in values if v == None]
