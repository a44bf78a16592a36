"""A custom Dataset read by worker processes: random_split into training and validation sets,
DataLoader(num_workers=2, shuffle=True), logistic regression trained with Adam, ReduceLROnPlateau
on the validation loss, accuracy under no_grad. Written as PyTorch code; only the imports say tinydl.

    python tests/torch_programs/data_pipeline_workers.py
"""
import numpy as np

import tinydl as torch
import tinydl.nn as nn
from tinydl.optim import Adam
from tinydl.optim.lr_scheduler import ReduceLROnPlateau
from tinydl.utils.data import DataLoader, Dataset, get_worker_info, random_split


class TwoBlobs(Dataset):
    """Points around (+1, +1) (label 1) and (-1, -1) (label 0), each made from its index."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        rng = np.random.default_rng(idx)
        label = idx % 2
        centre = 1.0 if label else -1.0
        point = (centre + 0.8 * rng.standard_normal(2)).astype(np.float32)
        return point, np.array([label], dtype=np.float32)


class LogisticRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(2, 1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.sigmoid(x @ self.weight + self.bias)


def bce(p, target):
    return -(target * torch.log(p + 1e-7) + (1 - target) * torch.log(1 - p + 1e-7)).mean()


def seen_by_workers(loader):
    return sorted({int(w) for _, _, w in loader})


if __name__ == "__main__":
    torch.manual_seed(0)
    dataset = TwoBlobs(600)
    train_set, val_set = random_split(dataset, [0.8, 0.2])
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=2)
    val_loader = DataLoader(val_set, batch_size=200, num_workers=2)

    model = LogisticRegression()
    optimizer = Adam(model.parameters(), lr=0.1)
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=1)

    for epoch in range(8):
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = bce(model(xb), yb)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            val_loss, correct = 0.0, 0
            for xb, yb in val_loader:
                p = model(xb)
                val_loss += bce(p, yb).item() * len(xb)
                correct += int(((p.numpy() > 0.5) == (yb.numpy() > 0.5)).sum())
        val_loss /= len(val_set)
        scheduler.step(val_loss)

    print(f"train {len(train_set)} val {len(val_set)} batches {len(train_loader)}")
    print(f"val loss {val_loss:.4f} accuracy {correct / len(val_set):.3f} lr {scheduler.get_last_lr()[0]:.4f}")

    class WhoLoads(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, idx):
            return idx, idx * idx, get_worker_info().id

    print("workers used:", seen_by_workers(DataLoader(WhoLoads(), batch_size=1, num_workers=2)))
