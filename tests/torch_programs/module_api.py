"""Everyday nn.Module code: nn.ModuleList and nn.ModuleDict, weight initialisation with
model.apply and nn.init, BatchNorm1d and Dropout in train/eval modes, forward hooks that record
activations, register_buffer, state_dict / load_state_dict into a fresh model, gradient clipping
with nn.utils.clip_grad_norm_, and an nn.LSTM sequence classifier trained with Adam.
PyTorch code: only the import lines say tinydl instead of torch."""
import numpy as np
import tinydl as torch
import tinydl.nn as nn
import tinydl.nn.functional as F
from tinydl.nn.utils import clip_grad_norm_

torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self, sizes, p=0.2):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.norms = nn.ModuleList([nn.BatchNorm1d(b) for b in sizes[1:-1]])
        self.acts = nn.ModuleDict({"relu": nn.ReLU(), "leaky": nn.LeakyReLU()})
        self.drop = nn.Dropout(p)
        self.register_buffer("calls", torch.zeros(1))

    def forward(self, x):
        self.calls += 1
        for layer, norm in zip(self.layers[:-1], self.norms):
            x = self.drop(self.acts["leaky"](norm(layer(x))))
        return self.layers[-1](x)


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, nonlinearity="leaky_relu")
        nn.init.constant_(m.bias, 0.01)


model = MLP([8, 16, 16, 3])
model.apply(init_weights)
print(model)
assert abs(model.layers[0].bias.detach().numpy() - 0.01).max() < 1e-7
assert nn.LeakyReLU().negative_slope == 0.01
names = [n for n, _ in model.named_parameters()]
assert names[:4] == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
assert "norms.0.running_mean" in model.state_dict() and "calls" in model.state_dict()
assert len(list(model.children())) == 4 and len(list(model.modules())) == 12

activations = {}


def save_activation(name):
    def hook(module, args, output):
        activations[name] = output.detach()
    return hook


handles = [layer.register_forward_hook(save_activation(f"layers.{i}")) for i, layer in enumerate(model.layers)]

rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((64, 8)).astype(np.float32))
y = torch.tensor((rng.standard_normal((64, 8)) @ rng.standard_normal((8, 3))).argmax(1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
losses = []
for step in range(60):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    norm = clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    losses.append(loss.item())
print("loss", round(losses[0], 3), "->", round(losses[-1], 3), "last grad norm", round(float(norm), 3))
assert losses[-1] < losses[0] * 0.5
assert tuple(activations["layers.0"].shape) == (64, 16) and tuple(activations["layers.2"].shape) == (64, 3)
for h in handles:
    h.remove()
activations.clear()
model.eval()
with torch.no_grad():
    a, b = model(x), model(x)
assert np.array_equal(a.detach().numpy(), b.detach().numpy()) and not activations  # eval: no dropout; hooks removed
assert int(model.calls.item()) == 62

fresh = MLP([8, 16, 16, 3])
result = fresh.load_state_dict(model.state_dict())
print(result)
fresh.eval()
with torch.no_grad():
    assert np.allclose(fresh(x).detach().numpy(), a.detach().numpy(), atol=1e-6)
try:
    fresh.load_state_dict({k: v for k, v in model.state_dict().items() if k != "layers.2.bias"})
except RuntimeError as e:
    print(str(e).splitlines()[0])
else:
    raise AssertionError("a missing key must raise")


class SeqClassifier(nn.Module):
    """Is the running sum of the sequence positive at the end?"""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=12, batch_first=True)
        self.head = nn.Linear(12, 2)

    def forward(self, x):
        out, (h_n, c_n) = self.lstm(x)
        return self.head(out[:, -1])


seqs = rng.standard_normal((128, 10, 1)).astype(np.float32)
targets = (seqs.sum(axis=(1, 2)) > 0).astype(np.int64)
xs, ys = torch.tensor(seqs), torch.tensor(targets)
clf = SeqClassifier()
opt = torch.optim.Adam(clf.parameters(), lr=0.02)
for step in range(80):
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()(clf(xs), ys)
    loss.backward()
    opt.step()
acc = (clf(xs).argmax(1) == ys).sum().item() / ys.shape[0]
print("LSTM accuracy", acc)
assert acc > 0.85
print("OK")
