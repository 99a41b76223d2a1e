import torch


def copy_into(buffer, values):
    buffer.detach().copy_(values)
