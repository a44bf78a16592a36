"""WGAN-GP on a toy 2-D distribution: the gradient penalty needs the gradient of a gradient.

A smaller honest stand-in for a WGAN-GP on MNIST (which takes far longer on a CPU): the data are
eight Gaussians on a circle of radius 2 (std 0.05), the generator and the critic are 2-layer MLPs
made of core tinydl ops (64 hidden units), trained as in Gulrajani et al. (Adam, betas (0.5, 0.9),
5 critic steps per generator step, lambda = 0.1 as the paper uses for its toy data) with a
learning rate of 5e-4 (the paper's 1e-4 needs more steps). The penalty
lambda * (|grad_x D(x_hat)| - 1)^2 at random interpolates x_hat is computed with
``autograd.grad(..., create_graph=True)`` and backpropagated into the critic's weights.

It prints, before and after training: the critic's gradient norm at the interpolates (the
penalty drives it towards 1), the fraction of generated points within 0.25 of one of the eight
modes, and how many modes receive at least 5% of the points. ``--png`` writes the final samples.

    python examples/gradient_penalty.py --png docs/gradient_penalty_samples.png   # ~5 min
"""
import argparse
import time

import numpy as np

import tinydl as td
from tinydl import autograd


def mlp(sizes, rng):
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
        params += [td.Tensor(w.astype(np.float32), requires_grad=True),
                   td.Tensor(np.zeros(n_out, np.float32), requires_grad=True)]
    return params


def run(params, x):
    for i in range(0, len(params), 2):
        x = x @ params[i] + params[i + 1]
        if i + 2 < len(params):
            x = td.relu(x)
    return x


MODES = 2 * np.array([[np.cos(a), np.sin(a)] for a in np.arange(8) * np.pi / 4], np.float32)


def real_batch(rng, n):
    return MODES[rng.integers(0, 8, n)] + 0.05 * rng.standard_normal((n, 2)).astype(np.float32)


def gradient_penalty(critic, real, fake, rng):
    eps = td.Tensor(rng.random((real.shape[0], 1)).astype(np.float32))
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    g, = autograd.grad(run(critic, x_hat).sum(), x_hat, create_graph=True)
    norms = td.sqrt((g * g).sum(axis=1) + 1e-12)
    return ((norms - 1) ** 2).mean(), norms


def evaluate(gen, critic, rng, n=2000):
    with td.no_grad():
        fake = run(gen, td.Tensor(rng.standard_normal((n, 2)).astype(np.float32))).detach().numpy()
    dist = np.linalg.norm(fake[:, None, :] - MODES[None], axis=2)
    near = dist.min(axis=1) < 0.25
    counts = np.bincount(dist.argmin(axis=1)[near], minlength=8)
    _, norms = gradient_penalty(critic, td.Tensor(real_batch(rng, 512)), td.Tensor(fake[:512]), rng)
    return {"grad_norm_mean": float(norms.detach().numpy().mean()), "grad_norm_std": float(norms.detach().numpy().std()),
            "near_mode": float(near.mean()), "modes_covered": int((counts >= 0.05 * n).sum())}, fake


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=2000, help="generator steps")
    p.add_argument("--critic-steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--png", default=None, help="write the final samples as a PNG here")
    a = p.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    h = a.hidden
    gen, critic = mlp([2, h, h, 2], rng), mlp([2, h, h, 1], rng)
    opt_g = td.optim.Adam(gen, lr=a.lr, betas=(0.5, 0.9))
    opt_c = td.optim.Adam(critic, lr=a.lr, betas=(0.5, 0.9))
    before, _ = evaluate(gen, critic, rng)
    print(f"before: {before}")
    t0 = time.perf_counter()
    for step in range(a.steps):
        for _ in range(a.critic_steps):
            real = td.Tensor(real_batch(rng, a.batch))
            with td.no_grad():
                fake = run(gen, td.Tensor(rng.standard_normal((a.batch, 2)).astype(np.float32)))
            gp, _ = gradient_penalty(critic, real, fake, rng)
            loss_c = run(critic, fake).mean() - run(critic, real).mean() + a.lam * gp
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
        loss_g = -run(critic, run(gen, td.Tensor(rng.standard_normal((a.batch, 2)).astype(np.float32)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if (step + 1) % max(1, a.steps // 5) == 0:
            print(f"step {step + 1}: critic loss {loss_c.item():.4f} (penalty {gp.item():.4f}), "
                  f"generator loss {loss_g.item():.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    after, fake = evaluate(gen, critic, rng)
    print(f"after {a.steps} generator steps: {after}")
    if a.png:
        from tinydl.data.png import write_png
        img = np.ones((256, 256, 3), np.float32)
        for pts, colour in ((MODES, (0.0, 0.6, 0.0)), (fake[:1500], (0.8, 0.0, 0.0))):
            ij = np.clip(((pts + 3) / 6 * 255).astype(int), 0, 255)
            img[255 - ij[:, 1], ij[:, 0]] = colour
        write_png(a.png, img)
        print(f"wrote {a.png}")
    return before, after


if __name__ == "__main__":
    main()
