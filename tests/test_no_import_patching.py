"""Importing one part of tinydl does not change another: tinydl.keras leaves tinydl.nn alone, and
nn.functional defines its functional forms itself."""
import importlib.util
import subprocess
import sys
import textwrap

import numpy as np

import tinydl
from tinydl.nn import functional as F

_SNAPSHOT = textwrap.dedent("""
    import sys
    import tinydl.nn as nn
    from tinydl.nn import functional, layers
    from tinydl.nn.module import Module

    def snapshot():
        spaces = {"tinydl.nn": nn, "tinydl.nn.functional": functional, "tinydl.nn.layers": layers}
        classes = {c for c in vars(layers).values() if isinstance(c, type)} | {Module, nn.Parameter}
        for c in classes:
            spaces[c.__qualname__] = c
        return {name: {k: id(v) for k, v in vars(space).items()} for name, space in spaces.items()}

    before = snapshot()
    assert "tinydl.keras" not in sys.modules
    import tinydl.keras
    from tinydl.keras import layers as kl, models
    x = kl.Input(shape=(3,))
    models.Model(x, kl.Dense(2)(x))  # the functional API works without any hook in nn
    after = snapshot()
    for name in before:
        added = sorted(set(after[name]) - set(before[name]))
        changed = sorted(k for k in before[name] if k in after[name] and before[name][k] != after[name][k])
        removed = sorted(set(before[name]) - set(after[name]))
        if added or changed or removed:
            print(name, "added", added, "changed", changed, "removed", removed)
    print("checked", len(before))
""")


def test_importing_keras_does_not_modify_nn():
    result = subprocess.run([sys.executable, "-c", _SNAPSHOT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("checked") and int(lines[-1].split()[1]) > 10
    assert lines == lines[-1:], "\n".join(lines)


def test_functional_defines_the_sequence_functions_itself():
    # Run functional.py's code as a fresh module: whatever it has, it has without tinydl.nn's
    # __init__ (or anything else) writing into it afterwards.
    spec = importlib.util.spec_from_file_location("tinydl.nn._functional_probe", F.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    rng = np.random.default_rng(0)
    x = tinydl.Tensor(rng.normal(size=(2, 3, 4)))
    w, b = tinydl.Tensor(rng.normal(size=4)), tinydl.Tensor(rng.normal(size=4))
    expected = (x.detach().numpy() - x.detach().numpy().mean(-1, keepdims=True)) / np.sqrt(x.detach().numpy().var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(fresh.layer_norm(x, 4, w, b).detach().numpy(), expected * w.detach().numpy() + b.detach().numpy(), rtol=1e-6)
    table = tinydl.Tensor(rng.normal(size=(5, 2)))
    np.testing.assert_array_equal(fresh.embedding(np.array([[4, 0]]), table).detach().numpy(), table.detach().numpy()[[[4, 0]]])
    q, k, v = (tinydl.Tensor(rng.normal(size=(1, 3, 4))) for _ in range(3))
    s = q.detach().numpy() @ k.detach().numpy().transpose(0, 2, 1) / 2.0
    s = np.where(np.tril(np.ones((3, 3), bool)), s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(fresh.scaled_dot_product_attention(q, k, v, is_causal=True).detach().numpy(), p @ v.detach().numpy(),
                               rtol=1e-6)
    for name in ("layer_norm", "embedding", "scaled_dot_product_attention"):
        assert getattr(F, name).__module__ == "tinydl.nn.functional"
