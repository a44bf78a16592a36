"""examples/gan_mnist.py: the networks' shapes, the losses' formulas, and a short real training run."""
import importlib.util
import math
import os
import struct
import zlib

import numpy as np
import pytest

import tinydl
from tinydl.nn.functional import binary_cross_entropy_with_logits

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "gan_mnist.py")


@pytest.fixture(scope="module")
def gan():
    spec = importlib.util.spec_from_file_location("gan_mnist", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def test_networks_shapes_and_ranges(gan):
    tinydl.manual_seed(0)
    g, d = gan.Generator(), gan.Discriminator()
    z = tinydl.randn(5, gan.Z_DIM)
    fake = g(z)
    assert fake.shape == (5, 784)
    assert np.all(np.abs(fake.detach().numpy()) <= 1.0)          # tanh output: the data's [-1, 1] range
    assert d(fake).shape == (5, 1)                       # one logit per image
    assert [n for n, _ in g.named_parameters()][:2] == ["fc1.weight", "fc1.bias"]


def test_losses_are_the_seed_formulas():
    """BCE-with-logits against 1 is -log D; against 0 it is -log(1 - D), with D = sigmoid(logit)."""
    logits = np.array([[-3.0], [-0.5], [0.0], [2.0], [40.0]], np.float32)
    z = logits.astype(np.float64)
    # -log sigmoid(z) = log(1 + e^-z) and -log(1 - sigmoid(z)) = log(1 + e^z), evaluated exactly
    minus_log_d, minus_log_1md = np.logaddexp(0, -z), np.logaddexp(0, z)
    np.testing.assert_allclose(minus_log_d[:3], -np.log(1 / (1 + np.exp(-z[:3]))), rtol=1e-12)
    real = binary_cross_entropy_with_logits(tinydl.Tensor(logits), np.ones_like(logits)).item()
    fake = binary_cross_entropy_with_logits(tinydl.Tensor(logits), np.zeros_like(logits)).item()
    np.testing.assert_allclose(real, np.mean(minus_log_d), rtol=1e-5)
    np.testing.assert_allclose(fake, np.mean(minus_log_1md), rtol=1e-5)   # finite at logit 40, where
    assert math.isfinite(fake)                                             # 1 - D rounds to 0


def test_one_step_moves_both_networks_and_freezes_d_for_g(gan):
    tinydl.manual_seed(1)
    g, d = gan.Generator(), gan.Discriminator()
    opt_g = tinydl.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = tinydl.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = tinydl.Tensor(np.random.default_rng(0).uniform(-1, 1, (8, 784)).astype(np.float32))
    before_g, before_d = ({k: v.detach().numpy().copy() for k, v in m.state_dict().items()} for m in (g, d))  # a snapshot
    fake = g(tinydl.randn(8, gan.Z_DIM))
    d.zero_grad()
    d_loss = (binary_cross_entropy_with_logits(d(real), np.ones((8, 1), np.float32))
              + binary_cross_entropy_with_logits(d(fake.detach()), np.zeros((8, 1), np.float32)))
    d_loss.backward()
    assert all(p.grad is None for p in g.parameters())   # detach: the D step leaves G alone
    opt_d.step()
    g.zero_grad()
    d.zero_grad()
    gan.set_requires_grad(d, False)
    binary_cross_entropy_with_logits(d(fake), np.ones((8, 1), np.float32)).backward()
    assert all(p.grad is None for p in d.parameters())   # frozen D: no wasted weight gradients
    assert all(p.grad is not None for p in g.parameters())
    opt_g.step()
    gan.set_requires_grad(d, True)
    assert all(p.requires_grad for p in d.parameters())
    changed = lambda before, after: any(not np.array_equal(before[k], after[k]) for k in before)
    assert changed(before_g, g.state_dict()) and changed(before_d, d.state_dict())


def test_short_run_discriminator_does_not_win(gan, mnist_dir, tmp_path):
    """A short run on real MNIST: finite losses, a discriminator that has not beaten the generator
    (held-out accuracy on real test digits vs samples below 0.95), and the PNG outputs."""
    out = tmp_path / "gan"
    # 200 steps of batch 64: about 4 s on an idle 2-core CPU (over 200 steps the held-out accuracy
    # moved between 0.43 and 0.84 for seeds 0-3; untrained networks sit at 0.5)
    result = gan.main(["--steps", "200", "--batch-size", "64", "--limit", "10000", "--every", "100",
                       "--log-every", "50", "--out", str(out), "--data", mnist_dir, "--seed", "0", "--quiet"])
    h = result["history"]
    assert result["steps"] == 200 and len(h["d_loss"]) == 200
    assert all(math.isfinite(v) for v in h["d_loss"] + h["g_loss"])
    assert math.isfinite(result["d_loss"]) and math.isfinite(result["g_loss"])
    assert result["d_accuracy"] < 0.95, (
        f"the discriminator separates held-out real digits from samples with accuracy "
        f"{result['d_accuracy']:.3f} (real {result['d_accuracy_real']:.3f}, fake {result['d_accuracy_fake']:.3f}); "
        f"accuracies during the run: {h['d_accuracy']}")
    # the generator has learned something: MNIST's mostly black background
    g = result["generator"].eval()
    with tinydl.no_grad():
        samples = g(tinydl.Tensor(np.random.default_rng(3).standard_normal((256, gan.Z_DIM)).astype(np.float32)))
    dark = float(np.mean(samples.detach().numpy() < -0.5))
    assert dark > 0.5, f"only {dark:.2f} of the sample pixels are dark (MNIST: about 0.8)"
    for name in ("samples_step_000100.png", "samples_step_000200.png", "final_samples.png"):
        assert _png_size(out / name) == (8 * 30 + 2, 8 * 30 + 2)   # 8x8 grid, 2-pixel padding
    assert _png_size(out / "losses.png")[0] > 100
    assert (out / "losses.csv").read_text().count("\n") == 201


def test_final_grid_decodes(gan, tmp_path):
    """The example's PNGs are plain 8-bit greyscale that zlib alone can read back."""
    tinydl.manual_seed(0)
    g = gan.Generator()
    z = np.random.default_rng(0).standard_normal((6, gan.Z_DIM)).astype(np.float32)
    path = gan.save_samples(g, z, str(tmp_path / "s.png"), nrow=3)
    data = open(path, "rb").read()
    w, h = _png_size(path)
    assert (w, h) == (3 * 30 + 2, 2 * 30 + 2) and data[24:26] == b"\x08\x00"   # 8-bit, grey
    (length,) = struct.unpack(">I", data[33:37])
    assert data[37:41] == b"IDAT"
    raw = zlib.decompress(data[41:41 + length])
    assert len(raw) == h * (w + 1)
