"""A GAN in the shape of PyTorch's DCGAN tutorial, on 1-D data: a generator maps noise to samples
of N(3, 0.5); a discriminator with BCEWithLogitsLoss; two Adam optimizers with betas=(0.5, 0.999);
real/fake labels with torch.full; fake.detach() for the discriminator step.
PyTorch code: only the import lines say tinydl instead of torch."""
import tinydl as torch
import tinydl.nn as nn
import tinydl.optim as optim

torch.manual_seed(1)
netG = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
netD = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
criterion = nn.BCEWithLogitsLoss()
optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
real_label, fake_label = 1.0, 0.0

for i in range(1500):
    real = 3 + 0.5 * torch.randn(64, 1)
    netD.zero_grad()
    label = torch.full((64, 1), real_label)
    errD_real = criterion(netD(real), label)
    errD_real.backward()
    noise = torch.randn(64, 4)
    fake = netG(noise)
    label.fill_(fake_label)
    errD_fake = criterion(netD(fake.detach()), label)
    errD_fake.backward()
    optimizerD.step()

    netG.zero_grad()
    label.fill_(real_label)
    errG = criterion(netD(fake), label)
    errG.backward()
    optimizerG.step()
    if i % 500 == 0:
        print(f"[{i}] Loss_D {(errD_real + errD_fake).item():.4f} Loss_G {errG.item():.4f}")

with torch.no_grad():
    samples = netG(torch.randn(2000, 4))
mean, std = samples.mean().item(), samples.std().item()
print(f"generated mean {mean:.3f} std {std:.3f}")
assert abs(mean - 3) < 0.4 and 0.1 < std < 1.2, (mean, std)
print("OK")
