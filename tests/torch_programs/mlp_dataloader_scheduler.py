"""The everyday PyTorch training script: a TensorDataset split with random_split, DataLoaders
(shuffle for training), an nn.Sequential MLP, SGD with momentum and a OneCycleLR schedule stepped
per batch, model.train()/model.eval(), evaluation under torch.no_grad() with argmax accuracy,
torch.save of the state_dict and loading it into a fresh model.
PyTorch code: only the import lines say tinydl instead of torch."""
import os
import tempfile

import tinydl as torch
import tinydl.nn as nn
from tinydl.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
# three Gaussian blobs in 2-D
centers = torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
labels = torch.randint(0, 3, (1200,))
points = centers[labels] + 0.6 * torch.randn(1200, 2)
train_set, test_set = random_split(TensorDataset(points, labels), [1000, 200])
train_loader = DataLoader(train_set, batch_size=50, shuffle=True)
test_loader = DataLoader(test_set, batch_size=100)


def make_model():
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3))


model = make_model()
epochs = 5
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, epochs=epochs,
                                                steps_per_epoch=len(train_loader))
loss_fn = nn.CrossEntropyLoss()


def evaluate(net):
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += (net(x).argmax(1) == y).sum().item()
            total += y.size(0)
    return correct / total


for epoch in range(epochs):
    model.train()
    running = 0.0
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        running += loss.item() * x.size(0)
    print(f"epoch {epoch}: loss {running / len(train_set):.4f} lr {scheduler.get_last_lr()[0]:.5f} "
          f"test accuracy {evaluate(model):.3f}")

accuracy = evaluate(model)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "model.pt")
    torch.save(model.state_dict(), path)
    restored = make_model()
    restored.load_state_dict(torch.load(path))
assert evaluate(restored) == accuracy
assert accuracy > 0.9, accuracy
print("OK")
