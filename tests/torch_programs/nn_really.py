"""In the style of "What is torch.nn really?": logistic regression written by hand, then refactored
step by step onto nn.Module, nn.Parameter, nn.Linear, F.cross_entropy, optim.SGD and
nn.Sequential. Synthetic 64-feature, 10-class data stands in for MNIST (no download needed).
PyTorch code: only the import lines say tinydl instead of torch."""
import math

import numpy as np
import tinydl as torch
import tinydl.nn.functional as F
from tinydl import nn, optim

rng = np.random.default_rng(0)
n, d, c = 1200, 64, 10
centers = rng.standard_normal((c, d)) * 0.4
labels = rng.integers(0, c, n)
x_np = (centers[labels] + rng.standard_normal((n, d))).astype(np.float32)
x_train, y_train = torch.tensor(x_np[:1000]), torch.tensor(labels[:1000])
x_valid, y_valid = torch.tensor(x_np[1000:]), torch.tensor(labels[1000:])
bs, lr, epochs = 64, 0.5, 3
torch.manual_seed(0)

# 1. from scratch: tensors, a log_softmax and a negative log-likelihood written by hand
weights = torch.randn(d, c) / math.sqrt(d)
weights.requires_grad_()
bias = torch.zeros(c, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = out.argmax(1)
    return (preds == yb).sum().item() / yb.shape[0]


loss_func = nll
print("from scratch, before:", round(loss_func(model(x_valid), y_valid).item(), 4))
for epoch in range(epochs):
    for i in range((1000 - 1) // bs + 1):
        xb, yb = x_train[i * bs: i * bs + bs], y_train[i * bs: i * bs + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
scratch_loss = loss_func(model(x_valid), y_valid).item()
print("from scratch, after:", round(scratch_loss, 4), "accuracy", accuracy(model(x_valid), y_valid))
assert scratch_loss < 0.5

# 2. F.cross_entropy replaces log_softmax + nll: the same value
loss_func = F.cross_entropy


def model(xb):
    return xb @ weights + bias


assert abs(loss_func(model(x_valid), y_valid).item() - scratch_loss) < 1e-5


# 3. nn.Module and nn.Parameter, then nn.Linear
class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(d, c) / math.sqrt(d))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, xb):
        return xb @ self.weights + self.bias


class Mnist_Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(d, c)

    def forward(self, xb):
        return self.lin(xb)


def fit(model, opt=None):
    for epoch in range(epochs):
        model.train()
        for i in range((1000 - 1) // bs + 1):
            xb, yb = x_train[i * bs: i * bs + bs], y_train[i * bs: i * bs + bs]
            loss = loss_func(model(xb), yb)
            loss.backward()
            if opt is None:
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()
            else:
                opt.step()
                opt.zero_grad()
        model.eval()
        with torch.no_grad():
            valid_loss = loss_func(model(x_valid), y_valid)
        print(type(model).__name__, "epoch", epoch, "valid loss", round(valid_loss.item(), 4))
    return valid_loss.item()


for make in (Mnist_Logistic, Mnist_Linear):
    model = make()
    assert len(list(model.parameters())) == 2
    assert fit(model) < 0.5

# 4. optim.SGD with momentum, and nn.Sequential
model = Mnist_Linear()
assert [name for name, _ in model.named_parameters()] == ["lin.weight", "lin.bias"]
assert tuple(model.lin.weight.shape) == (c, d)
assert fit(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)) < 0.5
model = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, c))
final = fit(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
print("Sequential accuracy", accuracy(model(x_valid), y_valid))
assert final < 0.5 and accuracy(model(x_valid), y_valid) > 0.85
print("OK")
