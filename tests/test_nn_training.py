"""End-to-end learning with the PyTorch-flavoured API: XOR, and a small CNN overfitting 64 MNIST images."""
import os

import numpy as np

import tinydl as td
from tinydl import nn, optim


def test_two_layer_mlp_learns_xor():
    td.manual_seed(0)
    x = td.Tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    y = np.array([[0], [1], [1], [0]], np.float32)
    model = nn.Sequential(nn.Dense(8, activation="tanh"), nn.Dense(1, activation="sigmoid"))
    model(x)
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = nn.losses.binary_crossentropy(y, model(x))
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert ((model(x).detach().numpy() > 0.5) == y).all()


def test_small_cnn_overfits_64_mnist_images(mnist_dir):
    from tinydl.data import load_mnist
    (x_train, y_train), _ = load_mnist(path=mnist_dir)
    x = td.Tensor(x_train[:64, :, :, None].astype(np.float32) / 255)
    y = y_train[:64].astype(np.int64)
    td.manual_seed(0)

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2D(8, 3, activation="relu")
            self.pool = nn.MaxPooling2D(2)
            self.conv2 = nn.Conv2D(16, 3, activation="relu")
            self.flat = nn.Flatten()
            self.out = nn.Dense(10)

        def forward(self, t):
            return self.out(self.flat(self.pool(self.conv2(self.pool(self.conv1(t))))))

    model = SmallCNN()
    model(x)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    with td.no_grad():
        acc = (model(x).detach().numpy().argmax(1) == y).mean()
    assert acc == 1.0, f"training accuracy {acc} after 60 steps (loss {loss.item():.4f})"
