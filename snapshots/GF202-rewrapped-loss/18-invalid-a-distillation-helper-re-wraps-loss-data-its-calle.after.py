import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def distillation_loss(student_out, teacher_out):
    loss = F.mse_loss(student_out, teacher_out)
    return loss


student = Student()
loss = distillation_loss(student(torch.randn(2, 4)), torch.randn(2, 2))
loss.backward()
