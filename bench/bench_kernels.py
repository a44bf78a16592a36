"""Times of the reference (NumPy) and numba_cpu providers on the MNIST-CNN layer shapes.

    python bench/bench_kernels.py [--batches 32 128] [--dtype float32] [--repeat 21] [--torch]

The network: conv 3x3 1->32 on 28x28, maxpool 2x2, conv 3x3 32->64 on 13x13, maxpool 2x2,
conv 3x3 64->64 on 5x5, flatten 576, Dense 576->64->10 (bias+relu after each conv/dense,
softmax cross-entropy at the end).  The first conv's backward computes only the kernel
gradient, as in training.  A last row per batch times a whole forward + backward pass of
the network built from these primitives (no optimizer update; no autograd overhead), and
one more with each conv + bias + relu through the Numba provider's optional fused entry
points (``conv2d_bias_act_forward``/``_backward``; the reference column composes its two
primitives).  The "(fused)" rows time those entry points alone.  Each cell is the median over ``--repeat`` calls (the minimum in
brackets) after one warm-up call, so Numba compile time is excluded.  On a shared machine
the minimum is the steadier number.

``--torch`` adds PyTorch's CPU ops on the same shapes (NCHW, its default layout; run with
as many threads as ``torch.get_num_threads()`` gives, 2 on the 2-core target) for context.
For a 2-core run on a bigger machine: ``taskset -c 0,1 python bench/bench_kernels.py``.
"""
import argparse
import statistics
import time

import numpy as np

from tinydl.backends import numba_cpu as fast
from tinydl.backends import reference as ref

VALID = ((1, 1), ((0, 0), (0, 0)), (1, 1))  # stride, padding, dilation of the 3x3 convs
POOL = ((2, 2), (2, 2), ((0, 0), (0, 0)))  # pool, stride, padding
LAYERS = (("conv1", 28, 1, 32), ("conv2", 13, 32, 64), ("conv3", 5, 64, 64))


def timings(fn, repeat):
    """(median, min) wall time of ``fn()`` in seconds, after one warm-up call."""
    fn()  # warm-up (and numba compilation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def conv_bias_relu(p, x, w, b):
    """relu(conv(x, w) + b) through the provider's fused entry point (the reference composes
    its two primitives there)."""
    return p.conv2d_bias_act_forward(x, w, b, "relu", *VALID)


def conv_bias_relu_backward(p, x, w, y, gy, need_gx=True):
    """(gx, gw, gb) of :func:`conv_bias_relu` from its output ``y``."""
    return p.conv2d_bias_act_backward(x, w, y, gy, "relu", *VALID, need_gx=need_gx)


def cases(batch, dtype, rng):
    """[(name, f)]: ``f(provider)`` runs one primitive of one layer."""

    def arr(*shape):
        return rng.standard_normal(shape).astype(dtype)

    out = []
    for name, hw, cin, cout in LAYERS:
        s = hw - 2
        x, w, gy = arr(batch, hw, hw, cin), arr(3, 3, cin, cout), arr(batch, s, s, cout)
        first = name == "conv1"
        out.append((f"{name} fwd {hw}x{hw}x{cin}->{cout}", lambda p, x=x, w=w: p.conv2d_forward(x, w, *VALID)))
        out.append((f"{name} bwd" + (" (gw only)" if first else ""),
                    lambda p, x=x, w=w, gy=gy, f=first: p.conv2d_backward(x, w, gy, *VALID, need_gx=not f)))
        z, b = arr(batch, s, s, cout), arr(cout)
        y = np.maximum(z, 0)
        out.append((f"{name} bias+relu fwd", lambda p, z=z, b=b: p.bias_act_forward(z, b, "relu")))
        out.append((f"{name} bias+relu bwd", lambda p, y=y, gy=gy: p.bias_act_backward(y, gy, "relu")))
        out.append((f"{name} conv+bias+relu fwd (fused)",
                    lambda p, x=x, w=w, b=b: conv_bias_relu(p, x, w, b)))
        out.append((f"{name} conv+bias+relu bwd (fused)",
                    lambda p, x=x, w=w, y=y, gy=gy, f=first: conv_bias_relu_backward(p, x, w, y, gy, not f)))
        if name != "conv3":
            _, am = ref.maxpool2d_forward(y, *POOL)
            gp = arr(batch, s // 2, s // 2, cout)
            out.append((f"maxpool {s}x{s}x{cout} fwd", lambda p, y=y: p.maxpool2d_forward(y, *POOL)))
            out.append((f"maxpool {s}x{s}x{cout} bwd",
                        lambda p, g=gp, am=am, shape=y.shape: p.maxpool2d_backward(g, am, shape, *POOL)))
    h, b = arr(batch, 64), arr(64)
    out.append(("dense bias+relu fwd (64)", lambda p: p.bias_act_forward(h, b, "relu")))
    logits, labels = arr(batch, 10), rng.integers(0, 10, batch)
    probs = ref.softmax_xent_forward(logits, labels)[1]
    gl = np.full(batch, 1.0 / batch, dtype)
    out.append(("softmax-xent fwd (10)", lambda p: p.softmax_xent_forward(logits, labels)))
    out.append(("softmax-xent bwd (10)", lambda p: p.softmax_xent_backward(probs, labels, gl)))
    return out


def torch_cases(batch, dtype):
    """The same rows as :func:`cases` with PyTorch CPU ops (NCHW), as zero-argument callables."""
    import torch
    import torch.nn.functional as F

    aten = torch.ops.aten
    dt = getattr(torch, np.dtype(dtype).name)

    def arr(*shape):
        return torch.randn(*shape, dtype=dt)

    out = []
    for name, hw, cin, cout in LAYERS:
        s = hw - 2
        x, w, gy = arr(batch, cin, hw, hw), arr(cout, cin, 3, 3), arr(batch, cout, s, s)
        mask = [name != "conv1", True, False]
        out.append(lambda x=x, w=w: F.conv2d(x, w))
        out.append(lambda x=x, w=w, gy=gy, m=mask: aten.convolution_backward(
            gy, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, m))
        z, b = arr(batch, cout, s, s), arr(cout)
        y = torch.relu(z)
        out.append(lambda z=z, b=b: torch.relu(z + b[:, None, None]))
        out.append(lambda y=y, gy=gy: (aten.threshold_backward(gy, y, 0), gy.sum((0, 2, 3))))
        out.append(lambda x=x, w=w, b=b: torch.relu(F.conv2d(x, w, b)))

        def conv_relu_backward(x=x, w=w, y=y, gy=gy, m=mask):
            g = aten.threshold_backward(gy, y, 0)
            return aten.convolution_backward(g, x, w, [w.shape[0]], [1, 1], [0, 0], [1, 1], False,
                                             [0, 0], 1, m[:2] + [True])

        out.append(conv_relu_backward)
        if name != "conv3":
            _, idx = F.max_pool2d(y, 2, 2, return_indices=True)
            gp = arr(batch, cout, s // 2, s // 2)
            out.append(lambda y=y: F.max_pool2d(y, 2, 2, return_indices=True))
            out.append(lambda gp=gp, y=y, idx=idx: aten.max_pool2d_with_indices_backward(
                gp, y, [2, 2], [2, 2], [0, 0], [1, 1], False, idx))
    h, b = arr(batch, 64), arr(64)
    out.append(lambda: torch.relu(h + b))
    logits, labels = arr(batch, 10), torch.randint(0, 10, (batch,))
    gl = torch.full((batch,), 1.0 / batch, dtype=dt)
    out.append(lambda: (F.cross_entropy(logits, labels, reduction="none"), torch.softmax(logits, 1)))
    probs = torch.softmax(logits, 1)
    onehot = F.one_hot(labels, 10).to(dt)
    out.append(lambda: (probs - onehot) * gl[:, None])
    return out


def train_step(p, batch, dtype, rng):
    """A callable running forward + backward of the whole MNIST CNN on provider ``p``
    (its primitives plus NumPy matmuls for the dense layers; no optimizer update)."""
    f = np.dtype(dtype).type

    def arr(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(f)

    x = arr(batch, 28, 28, 1)
    w1, w2, w3 = arr(3, 3, 1, 32, scale=0.3), arr(3, 3, 32, 64, scale=0.06), arr(3, 3, 64, 64, scale=0.04)
    b1, b2, b3 = np.zeros(32, f), np.zeros(64, f), np.zeros(64, f)
    d1, d2, e1, e2 = arr(576, 64, scale=0.04), arr(64, 10, scale=0.1), np.zeros(64, f), np.zeros(10, f)
    labels = rng.integers(0, 10, batch)
    gl = np.full(batch, 1.0 / batch, f)

    def step():
        a1 = p.bias_act_forward(p.conv2d_forward(x, w1, *VALID), b1, "relu")
        m1, i1 = p.maxpool2d_forward(a1, *POOL)
        a2 = p.bias_act_forward(p.conv2d_forward(m1, w2, *VALID), b2, "relu")
        m2, i2 = p.maxpool2d_forward(a2, *POOL)
        a3 = p.bias_act_forward(p.conv2d_forward(m2, w3, *VALID), b3, "relu")
        flat = a3.reshape(batch, -1)
        h = p.bias_act_forward(flat @ d1, e1, "relu")
        z = p.bias_act_forward(h @ d2, e2, "linear")
        _, probs = p.softmax_xent_forward(z, labels)
        gz, _ = p.bias_act_backward(z, p.softmax_xent_backward(probs, labels, gl), "linear")
        _ = h.T @ gz
        gh, _ = p.bias_act_backward(h, gz @ d2.T, "relu")
        _ = flat.T @ gh
        g3, _ = p.bias_act_backward(a3, (gh @ d1.T).reshape(a3.shape), "relu")
        gm2, _ = p.conv2d_backward(m2, w3, g3, *VALID)
        g2, _ = p.bias_act_backward(a2, p.maxpool2d_backward(gm2, i2, a2.shape, *POOL), "relu")
        gm1, _ = p.conv2d_backward(m1, w2, g2, *VALID)
        g1, _ = p.bias_act_backward(a1, p.maxpool2d_backward(gm1, i1, a1.shape, *POOL), "relu")
        p.conv2d_backward(x, w1, g1, *VALID, need_gx=False)

    return step


def train_step_fused(p, batch, dtype, rng):
    """:func:`train_step` with each conv + bias + relu through :func:`conv_bias_relu` (fused
    on numba_cpu, the two primitives on the reference)."""
    f = np.dtype(dtype).type

    def arr(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(f)

    x = arr(batch, 28, 28, 1)
    w1, w2, w3 = arr(3, 3, 1, 32, scale=0.3), arr(3, 3, 32, 64, scale=0.06), arr(3, 3, 64, 64, scale=0.04)
    b1, b2, b3 = np.zeros(32, f), np.zeros(64, f), np.zeros(64, f)
    d1, d2, e1, e2 = arr(576, 64, scale=0.04), arr(64, 10, scale=0.1), np.zeros(64, f), np.zeros(10, f)
    labels = rng.integers(0, 10, batch)
    gl = np.full(batch, 1.0 / batch, f)

    def step():
        a1 = conv_bias_relu(p, x, w1, b1)
        m1, i1 = p.maxpool2d_forward(a1, *POOL)
        a2 = conv_bias_relu(p, m1, w2, b2)
        m2, i2 = p.maxpool2d_forward(a2, *POOL)
        a3 = conv_bias_relu(p, m2, w3, b3)
        flat = a3.reshape(batch, -1)
        h = p.bias_act_forward(flat @ d1, e1, "relu")
        z = p.bias_act_forward(h @ d2, e2, "linear")
        _, probs = p.softmax_xent_forward(z, labels)
        gz, _ = p.bias_act_backward(z, p.softmax_xent_backward(probs, labels, gl), "linear")
        _ = h.T @ gz
        gh, _ = p.bias_act_backward(h, gz @ d2.T, "relu")
        _ = flat.T @ gh
        gm2 = conv_bias_relu_backward(p, m2, w3, a3, (gh @ d1.T).reshape(a3.shape))[0]
        gm1 = conv_bias_relu_backward(p, m1, w2, a2, p.maxpool2d_backward(gm2, i2, a2.shape, *POOL))[0]
        conv_bias_relu_backward(p, x, w1, a1, p.maxpool2d_backward(gm1, i1, a1.shape, *POOL), False)

    return step


def torch_train_step(batch, dtype):
    """The same network in PyTorch (NCHW): forward + backward, no optimizer update."""
    import torch
    from torch import nn

    dt = getattr(torch, np.dtype(dtype).name)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(576, 64),
        nn.ReLU(), nn.Linear(64, 10)).to(dt)
    x, labels = torch.randn(batch, 1, 28, 28, dtype=dt), torch.randint(0, 10, (batch,))

    def step():
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), labels).backward()

    return step


def row(batch, name, t):
    cells = "".join(f" {1e3 * t[i]:>9.3f} ({1e3 * t[i + 1]:>7.3f})" for i in range(0, len(t), 2))
    return f"{batch:>5}  {name:<30}{cells} {t[0] / t[2]:>8.1f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--torch", action="store_true", help="add a PyTorch CPU column")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    head = f"{'batch':>5}  {'case':<30} {'reference':>19} {'numba':>19}"
    if args.torch:
        import torch

        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        head += f" {'torch':>19}"
    print(f"dtype {args.dtype}; {args.repeat} runs each; ms: median (min)")
    print(head + "  ref/numba")
    for batch in args.batches:
        rows = cases(batch, np.dtype(args.dtype), rng)
        extra = torch_cases(batch, args.dtype) if args.torch else [None] * len(rows)
        total = 0
        for (name, fn), tfn in zip(rows, extra):
            t = timings(lambda: fn(ref), args.repeat) + timings(lambda: fn(fast), args.repeat)
            if tfn is not None:
                t += timings(tfn, args.repeat)
            if "(fused)" not in name:  # the fused rows repeat the work of the rows above them
                total = total + np.array(t)
            print(row(batch, name, t))
        print(row(batch, "TOTAL (sum of the unfused rows)", total))
        t = timings(train_step(ref, batch, args.dtype, rng), args.repeat)
        t += timings(train_step(fast, batch, args.dtype, rng), args.repeat)
        if args.torch:
            t += timings(torch_train_step(batch, args.dtype), args.repeat)
        print(row(batch, "whole CNN fwd+bwd step", t))
        t = timings(train_step_fused(ref, batch, args.dtype, rng), args.repeat)
        t += timings(train_step_fused(fast, batch, args.dtype, rng), args.repeat)
        if args.torch:
            t += timings(torch_train_step(batch, args.dtype), args.repeat)
        print(row(batch, "  the same, conv+bias+relu fused", t))


if __name__ == "__main__":
    main()
