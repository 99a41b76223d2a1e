import torch
import torch.nn as nn

netG = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
netD = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
bce = nn.BCELoss()
optD = torch.optim.Adam(netD.parameters())
optG = torch.optim.Adam(netG.parameters())
for real, z in loader:
    netD.zero_grad()
    fake = netG(z)
    errD = bce(netD(real), ones) + bce(netD(fake.detach()), zeros)
    errD.backward()
    optD.step()
    netG.zero_grad()
    errG = bce(netD(fake), ones)
    errG.backward()
    optG.step()
