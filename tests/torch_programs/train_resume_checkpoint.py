"""Linear regression the PyTorch way: TensorDataset + DataLoader, SGD with momentum and a StepLR
schedule, a checkpoint saved with torch.save, and a second run resumed from it with torch.load.
Written as PyTorch code; only the imports say tinydl.

    python tests/torch_programs/train_resume_checkpoint.py [checkpoint-path]
"""
import os
import sys
import tempfile

import tinydl as torch
import tinydl.nn as nn
from tinydl.optim import SGD
from tinydl.optim.lr_scheduler import StepLR
from tinydl.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
X = torch.randn(256, 3)
true_w = torch.tensor([[2.0], [-3.0], [0.5]])
y = X @ true_w + 1.0
loader = DataLoader(TensorDataset(X, y), batch_size=32)


class LinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(3, 1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x @ self.weight + self.bias


def make():
    model = LinearRegression()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=4, gamma=0.5)
    return model, optimizer, scheduler


def train(model, optimizer, scheduler, epochs):
    for epoch in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = ((model(xb) - yb) ** 2).mean()
            loss.backward()
            optimizer.step()
        scheduler.step()
    return loss.item()


path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "checkpoint.pt")

# one run of 10 epochs
model, optimizer, scheduler = make()
final_loss = train(model, optimizer, scheduler, 10)

# the same run, interrupted after 4 epochs ...
model_a, optimizer_a, scheduler_a = make()
loss_a = train(model_a, optimizer_a, scheduler_a, 4)
torch.save({"epoch": 4, "model_state_dict": model_a.state_dict(), "optimizer_state_dict": optimizer_a.state_dict(),
            "scheduler_state_dict": scheduler_a.state_dict(), "loss": loss_a}, path)

# ... and resumed in a fresh model, optimizer and scheduler
checkpoint = torch.load(path)
model_b, optimizer_b, scheduler_b = make()
model_b.load_state_dict(checkpoint["model_state_dict"])
optimizer_b.load_state_dict(checkpoint["optimizer_state_dict"])
scheduler_b.load_state_dict(checkpoint["scheduler_state_dict"])
resumed_loss = train(model_b, optimizer_b, scheduler_b, 10 - checkpoint["epoch"])

print(f"epoch {checkpoint['epoch']} loss {checkpoint['loss']:.4f}")
print(f"final loss {final_loss:.6f} lr {scheduler.get_last_lr()[0]:.5f}")
print("learned weight", [round(v, 3) for v in model.weight.detach().numpy().ravel().tolist()],
      "bias", round(model.bias.item(), 3))
print("resumed run matches:", resumed_loss == final_loss and
      bool((model_b.weight.detach().numpy() == model.weight.detach().numpy()).all()))
