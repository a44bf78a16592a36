"""Reliability: determinism under manual_seed, odd batch sizes, clear failures, flat memory."""
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

import tinydl as td
from tinydl import nn, optim
from tinydl.data import DataLoader, RandomShift


def _seed_cnn(dropout=0.0):
    return nn.Sequential(
        nn.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)), nn.MaxPooling2D(2),
        nn.Conv2D(8, 3, activation="relu"), nn.Flatten(), nn.Dropout(dropout),
        nn.Dense(16, activation="relu"), nn.Dense(10, activation="softmax"))


def _train_losses(seed, steps=8, batch=16):
    td.manual_seed(seed)
    model = _seed_cnn(dropout=0.3)
    data = np.random.default_rng(0).random((64, 12, 12, 1)).astype(np.float32)
    labels = np.arange(64) % 10
    loader = DataLoader(data, labels, batch_size=batch, shuffle=True, transform=RandomShift(1))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    while len(losses) < steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.losses.sparse_categorical_crossentropy(yb, model(td.Tensor(xb)))
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses[:steps]


def test_same_seed_gives_bit_identical_losses():
    a, b = _train_losses(3), _train_losses(3)
    assert a == b  # exact equality: init, dropout, shuffling and augmentation all follow the seed
    assert _train_losses(4) != a


def test_batch_of_one_and_partial_last_batch():
    td.manual_seed(0)
    model = _seed_cnn()
    out = model(td.Tensor(np.zeros((1, 12, 12, 1), np.float32)))
    assert out.shape == (1, 10)
    sizes = [len(xb) for xb, _ in DataLoader(np.zeros((10, 2)), np.zeros(10), batch_size=4)]
    assert sizes == [4, 4, 2]


def test_empty_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one sample"):
        DataLoader(np.zeros((0, 3)), np.zeros(0))


def test_allocation_beyond_memory_raises_memoryerror_not_hang():
    with pytest.raises(MemoryError):
        td.zeros(10 ** 7, 10 ** 7)


_LEAK_SCRIPT = r"""
import resource, sys, numpy as np, tinydl as td
from tinydl import nn, optim
steps = int(sys.argv[1])
td.manual_seed(0)
m = nn.Sequential(nn.Conv2D(32, 3, activation='relu', input_shape=(28, 28, 1)), nn.MaxPooling2D(2),
                  nn.Conv2D(64, 3, activation='relu'), nn.MaxPooling2D(2), nn.Conv2D(64, 3, activation='relu'),
                  nn.Flatten(), nn.Dense(64, activation='relu'), nn.Dense(10, activation='softmax'))
x = td.Tensor(np.random.rand(32, 28, 28, 1).astype('float32')); y = np.random.randint(0, 10, 32)
m(x); opt = optim.Adam(m.parameters(), lr=1e-3)
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()
marks = []
for i in range(steps):
    opt.zero_grad()
    loss = nn.losses.sparse_categorical_crossentropy(y, m(x))
    loss.backward()
    opt.step()
    if i in (steps // 10, steps - 1):
        marks.append(rss())
print(marks[0], marks[1])
"""


@pytest.mark.slow
def test_rss_stays_flat_over_2000_training_steps_of_the_seed_cnn(tmp_path):
    script = tmp_path / "leak.py"
    script.write_text(_LEAK_SCRIPT)
    out = subprocess.run([sys.executable, str(script), "2000"], capture_output=True, text=True, check=True)
    after_warmup, end = map(int, out.stdout.split())
    growth = (end - after_warmup) / after_warmup
    assert growth < 0.05, f"RSS grew {growth:.1%} ({after_warmup} -> {end} bytes) after warm-up"


def test_rss_stays_flat_short(tmp_path):
    """The quick version of the leak check (300 steps), in the default run."""
    script = tmp_path / "leak.py"
    script.write_text(_LEAK_SCRIPT)
    out = subprocess.run([sys.executable, str(script), "300"], capture_output=True, text=True, check=True)
    after_warmup, end = map(int, out.stdout.split())
    assert (end - after_warmup) / after_warmup < 0.05
