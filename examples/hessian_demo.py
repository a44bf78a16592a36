"""Hessian-vector products of a small CNN's loss, checked against finite differences, and the
Hessian's top eigenvalue by power iteration.

The CNN (float64): Conv2D(4, 3x3, relu) - MaxPool 2 - Conv2D(8, 3x3, relu) - Flatten - Dense(10),
softmax cross-entropy, on 32 MNIST training images (random images without TINYDL_DATA). The
Hessian-vector product H v differentiates the gradient, recorded with ``create_graph=True``
(double backward through the convolutions, the pooling and the fused cross-entropy); it is
compared with the central difference (grad L(w + eps v) - grad L(w - eps v)) / (2 eps), with a small
eps (1e-7): the loss is only piecewise smooth (ReLU, max pooling), and a larger step can cross a
kink, where the gradient jumps and the difference means nothing. Power
iteration v <- H v / |H v| then gives the largest-magnitude eigenvalue (v . H v).

    TINYDL_DATA=../shared/data python examples/hessian_demo.py
"""
import argparse
import time

import numpy as np

import tinydl as td
from tinydl import autograd
from tinydl.nn import channels_last as F  # NHWC convolutions, (in, out) dense kernels
from tinydl.nn.functional import cross_entropy


def data(n, seed):
    try:
        from tinydl.data import datasets
        (x, y), _ = datasets.load_mnist(download=False)
        x = x[:n].reshape(n, 28, 28, 1).astype(np.float64) / 255.0
        return x, y[:n].astype(np.int64), "MNIST"
    except Exception as e:  # no data: random images (the demo is about the derivatives)
        rng = np.random.default_rng(seed)
        return rng.random((n, 28, 28, 1)), rng.integers(0, 10, n), f"random images ({type(e).__name__})"


def init_params(rng):
    def he(*shape, fan_in):
        return td.Tensor(rng.standard_normal(shape) * np.sqrt(2.0 / fan_in), requires_grad=True)
    # Biases start at 0.01, not 0: on MNIST's blank patches a zero bias would put the ReLUs exactly
    # at their kink, where the gradient jumps and finite differences are meaningless.
    return [he(3, 3, 1, 4, fan_in=9), td.Tensor(np.full(4, 0.01), requires_grad=True),
            he(3, 3, 4, 8, fan_in=36), td.Tensor(np.full(8, 0.01), requires_grad=True),
            he(11 * 11 * 8, 10, fan_in=968), td.Tensor(np.zeros(10), requires_grad=True)]


def loss_fn(params, x, y):
    w1, b1, w2, b2, w3, b3 = params
    h = F.conv2d(x, w1, b1, activation="relu")
    h = F.max_pool2d(h, 2)
    h = F.conv2d(h, w2, b2, activation="relu")
    logits = F.linear(h.reshape(h.shape[0], -1), w3, b3)
    return cross_entropy(logits, y)


def gradient(params, x, y, create_graph=False):
    return autograd.grad(loss_fn(params, x, y), params, create_graph=create_graph)


def hvp(params, x, y, v):
    grads = gradient(params, x, y, create_graph=True)
    return autograd.grad(grads, params, grad_outputs=v)


def flat(ts):
    return np.concatenate([t.detach().numpy().ravel() for t in ts])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=32, help="images in the batch")
    p.add_argument("--power-iters", type=int, default=50)
    p.add_argument("--eps", type=float, default=1e-7,
                   help="finite-difference step: small, so that no ReLU or max-pool choice flips inside it")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    xs, ys, source = data(a.n, a.seed)
    x, y = td.Tensor(xs), td.Tensor(ys)
    params = init_params(rng)
    n_params = sum(t.numel() for t in params)
    print(f"{a.n} {source}, {n_params} parameters, loss {loss_fn(params, x, y).item():.6f}")

    v = [td.Tensor(rng.standard_normal(t.shape)) for t in params]
    t0 = time.perf_counter()
    hv = flat(hvp(params, x, y, v))
    t_hvp = time.perf_counter() - t0

    def shifted(sign):
        moved = [td.Tensor(t.detach().numpy() + sign * a.eps * d.detach().numpy(), requires_grad=True) for t, d in zip(params, v)]
        return flat(gradient(moved, x, y))

    fd = (shifted(+1) - shifted(-1)) / (2 * a.eps)
    rel = np.linalg.norm(hv - fd) / np.linalg.norm(fd)
    print(f"H v by double backward ({t_hvp:.2f} s) vs central differences (eps {a.eps:g}): "
          f"relative error {rel:.2e}, |Hv| = {np.linalg.norm(hv):.6g}")

    q = flat(v)
    q /= np.linalg.norm(q)
    sizes = [t.numel() for t in params]
    estimates = []
    for it in range(a.power_iters):
        pieces = np.split(q, np.cumsum(sizes)[:-1])
        hq = flat(hvp(params, x, y, [td.Tensor(s.reshape(t.shape)) for s, t in zip(pieces, params)]))
        estimates.append(float(q @ hq))
        q = hq / np.linalg.norm(hq)
    print("power iteration, v . H v:", ", ".join(f"{e:.5f}" for e in estimates[:3]), "...",
          ", ".join(f"{e:.5f}" for e in estimates[-3:]))
    print(f"top Hessian eigenvalue (largest magnitude) after {a.power_iters} iterations: {estimates[-1]:.5f} "
          f"(change over the last iteration {abs(estimates[-1] - estimates[-2]):.1e})")
    return {"hvp_rel_error": float(rel), "top_eigenvalue": estimates[-1], "estimates": estimates}


if __name__ == "__main__":
    main()
