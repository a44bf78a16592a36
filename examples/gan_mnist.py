"""A GAN that learns to draw MNIST digits, written in the seed's PyTorch style (seed section 5.2).

Run:  TINYDL_DATA=../shared/data python examples/gan_mnist.py --steps 8000 --every 1000 --out gan_out
      python examples/gan_mnist.py --steps 200 --every 100 --limit 5000   # a quick look

What it does, as the seed describes it:

* ``Generator``: z (100 numbers from N(0, 1)) -> Linear 256 -> BatchNorm1d -> LeakyReLU(0.2) ->
  Linear 512 -> BatchNorm1d -> LeakyReLU(0.2) -> Linear 784 -> tanh, a 28x28 image in [-1, 1].
  (Without the BatchNorm layers it also learns, but in our runs its samples after 2,000 and 8,000
  steps were noisier and mostly 1s and 9s; with them they cover most digits. The samples are drawn in evaluation mode, with
  BatchNorm's running statistics.)
  ``Discriminator``: 784 -> Linear 512 -> LeakyReLU(0.2) -> Linear 256 -> LeakyReLU(0.2) ->
  Linear 1, a logit (D(x) = sigmoid(logit) is the probability that x is real).
* MNIST pixels scaled to [-1, 1] (the seed's Normalize(0.5, 0.5)), mini-batches of 128.
* ``optim.Adam(params, lr=0.0002, betas=(0.5, 0.999))`` for each network (beta1 = 0.5 is the usual
  DCGAN choice; the seed only gives the learning rate).
* Alternating steps. Discriminator: minimise -log D(x) - log(1 - D(G(z))) (batch means).
  Generator: minimise -log D(G(z)), the seed's non-saturating form. Both are computed from the
  logits with ``binary_cross_entropy_with_logits`` (targets 1 for "real", 0 for "fake"), which
  equals the formulas above but never takes the log of a rounded-off 0.
* Samples of a fixed z, drawn under ``tinydl.no_grad()``, are saved as an 8x8 PNG grid every
  ``--every`` steps and at the end; the loss curves go to ``losses.png`` (matplotlib when it is
  installed, else tinydl's own PNG writer) and ``losses.csv``.

Every ``--log-every`` steps and at the end it reports the discriminator's accuracy on held-out
data: 1,000 real test-set digits it never trained on against samples of 1,000 fixed z. A
discriminator that wins outright (accuracy near 1.0) leaves the generator without a useful
gradient; in a healthy run it stays well below that.

Measured (seed 0, the defaults, 8,000 steps = 17 epochs, OPENBLAS_NUM_THREADS=1): 709 s on a
2-core CPU shared with other jobs (11 steps/s; a short run on the free CPU did 31 steps/s, so
about 4.5 minutes). Final losses
(mean of the last 100 steps) D 1.14, G 1.13; held-out discriminator accuracy 0.687 (real digits
called real 0.893, samples called fake 0.481); during the run it stayed between 0.50 and 0.85.
The grid (docs/gan_samples.png) shows mostly recognisable digits of most classes (0, 2, 3, 4, 5,
7, 8, 9; no clear 1 among the 64), with light speckle and some malformed strokes; the losses are in
docs/gan_losses.png. These are one run's numbers, not a benchmark.

Speed note: on a small, busy CPU, OpenBLAS's worker threads can spin against other processes and
make matrix products many times slower; ``OPENBLAS_NUM_THREADS=1`` avoids that.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np

import tinydl
from tinydl import nn, optim
from tinydl.data import DataLoader, load_mnist
from tinydl.data.png import image_grid, plot_lines, write_png
from tinydl.nn.functional import binary_cross_entropy_with_logits

Z_DIM = 100


class Generator(nn.Module):
    """z (N, 100) -> images (N, 784) in [-1, 1]."""

    def __init__(self, z_dim=Z_DIM, hidden=(256, 512), out_dim=28 * 28):
        super().__init__()
        self.fc1 = nn.Linear(z_dim, hidden[0])
        self.bn1 = nn.BatchNorm1d(hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.bn2 = nn.BatchNorm1d(hidden[1])
        self.fc3 = nn.Linear(hidden[1], out_dim)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, z):
        h = self.act(self.bn1(self.fc1(z)))
        h = self.act(self.bn2(self.fc2(h)))
        return tinydl.tanh(self.fc3(h))


class Discriminator(nn.Module):
    """images (N, 784) in [-1, 1] -> logits (N, 1); D(x) = sigmoid(logit)."""

    def __init__(self, in_dim=28 * 28, hidden=(512, 256)):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        h = self.act(self.fc1(x))
        h = self.act(self.fc2(h))
        return self.fc3(h)


def set_requires_grad(module, flag):
    """Freeze D during the generator's step: its weight gradients would be thrown away anyway."""
    for p in module.parameters():
        p.requires_grad = flag


def to_model_range(images_uint8):
    """uint8 (N, 28, 28) -> float32 (N, 784) in [-1, 1]."""
    x = images_uint8.reshape(len(images_uint8), -1).astype(np.float32)
    return x / 127.5 - 1.0


def discriminator_accuracy(generator, discriminator, real, z):
    """(accuracy, on real, on fake): the fraction of correct calls on ``real`` (should be called
    real, logit > 0) and on G(z) (should be called fake). Both networks run in evaluation mode, so
    the check leaves BatchNorm's running statistics alone."""
    generator.eval()
    discriminator.eval()
    with tinydl.no_grad():
        real_logits = discriminator(tinydl.Tensor(real)).detach().numpy().ravel()
        fake_logits = discriminator(generator(tinydl.Tensor(z))).detach().numpy().ravel()
    generator.train()
    discriminator.train()
    correct = np.count_nonzero(real_logits > 0) + np.count_nonzero(fake_logits < 0)
    return (float(correct / (len(real_logits) + len(fake_logits))), float(np.mean(real_logits > 0)),
            float(np.mean(fake_logits < 0)))


def save_samples(generator, z_fixed, path, nrow=8):
    generator.eval()
    with tinydl.no_grad():
        fake = generator(tinydl.Tensor(z_fixed)).detach().numpy()
    generator.train()
    grid = image_grid(fake.reshape(-1, 28, 28), nrow=nrow, padding=2, value_range=(-1, 1))
    write_png(path, grid)
    return path


def save_loss_plot(history, path, smooth=None):
    """Loss curves as a PNG: matplotlib if installed, else tinydl's own line plot.

    ``smooth``: the moving-average window, by default 50 steps or 1/50 of the run if longer."""
    steps = np.asarray(history["step"])
    d, g = np.asarray(history["d_loss"]), np.asarray(history["g_loss"])
    smooth = smooth or max(50, len(d) // 50)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        k = max(1, min(smooth, len(d)))
        img = plot_lines({"D loss": d, "G loss": g}, xs=steps, smooth=k,
                         title=f"GAN losses by step (moving average of {k})")
        write_png(path, img)
        return f"{path} (tinydl's PNG plot: matplotlib is not installed)"
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(steps, d, alpha=0.25, color="C0")
    ax.plot(steps, g, alpha=0.25, color="C1")
    if len(d) >= smooth:
        kern = np.ones(smooth) / smooth
        ax.plot(steps[smooth - 1:], np.convolve(d, kern, "valid"), color="C0", label="D loss")
        ax.plot(steps[smooth - 1:], np.convolve(g, kern, "valid"), color="C1", label="G loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"{path} (matplotlib)"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=8000, help="training steps (one D + one G update each)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", default="gan_out", help="folder for the sample grids and the loss curve")
    p.add_argument("--every", type=int, default=500, help="save a sample grid every N steps (0: only at the end)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="folder with the MNIST files (default: $TINYDL_DATA/mnist)")
    p.add_argument("--log-every", type=int, default=100,
                   help="print the losses and the held-out discriminator accuracy every N steps")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    """Train; return a dict with the models, the loss history and the final held-out accuracy."""
    args = parse_args(argv)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    tinydl.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    (x_train, _), (x_test, _) = load_mnist(path=args.data)
    if args.limit:
        x_train = x_train[:args.limit]
    x_train, x_test = to_model_range(x_train), to_model_range(x_test)
    dataloader = DataLoader(x_train, batch_size=args.batch_size, shuffle=True, seed=args.seed, drop_last=True)

    generator = Generator()
    discriminator = Discriminator()
    generator_optimizer = optim.Adam(generator.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    discriminator_optimizer = optim.Adam(discriminator.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    criterion = binary_cross_entropy_with_logits

    rng = np.random.default_rng(args.seed + 1)        # z for training
    z_fixed = np.random.default_rng(1234).standard_normal((64, Z_DIM)).astype(np.float32)  # the grids' z
    real_labels = np.ones((args.batch_size, 1), np.float32)
    fake_labels = np.zeros((args.batch_size, 1), np.float32)

    # held-out check: 1,000 test-set digits (never trained on) vs samples of 1,000 fixed z
    held_out = x_test[:1000]
    z_eval = np.random.default_rng(args.seed + 2).standard_normal((len(held_out), Z_DIM)).astype(np.float32)

    history = {"step": [], "d_loss": [], "g_loss": [], "d_real": [], "d_fake": [],
               "eval_step": [], "d_accuracy": []}
    step, start = 0, time.time()
    say(f"training {args.steps} steps, batch {args.batch_size}, {len(x_train)} images, "
        f"Adam lr={args.lr} betas=({args.beta1}, 0.999)")
    while step < args.steps:
        for images in dataloader:
            if step >= args.steps:
                break
            images = tinydl.Tensor(images)
            z = tinydl.Tensor(rng.standard_normal((args.batch_size, Z_DIM)).astype(np.float32))
            fake_images = generator(z)

            # train the discriminator: -log D(x) - log(1 - D(G(z)))
            discriminator.zero_grad()
            output_real = discriminator(images)
            output_fake = discriminator(fake_images.detach())
            d_loss = criterion(output_real, real_labels) + criterion(output_fake, fake_labels)
            d_loss.backward()
            discriminator_optimizer.step()

            # train the generator: -log D(G(z)), against the just-updated discriminator
            generator.zero_grad()
            set_requires_grad(discriminator, False)
            output_fake = discriminator(fake_images)
            g_loss = criterion(output_fake, real_labels)
            g_loss.backward()
            generator_optimizer.step()
            set_requires_grad(discriminator, True)

            step += 1
            history["step"].append(step)
            history["d_loss"].append(d_loss.item())
            history["g_loss"].append(g_loss.item())
            history["d_real"].append(float(tinydl.sigmoid(output_real).detach().numpy().mean()))
            history["d_fake"].append(float(tinydl.sigmoid(output_fake).detach().numpy().mean()))
            if args.log_every and step % args.log_every == 0:
                rate = step / (time.time() - start)
                acc = discriminator_accuracy(generator, discriminator, held_out, z_eval)[0]
                history["eval_step"].append(step)
                history["d_accuracy"].append(acc)
                say(f"step {step:5d}  d_loss {np.mean(history['d_loss'][-args.log_every:]):.3f}  "
                    f"g_loss {np.mean(history['g_loss'][-args.log_every:]):.3f}  "
                    f"D(x) {history['d_real'][-1]:.2f}  D(G(z)) {history['d_fake'][-1]:.2f}  "
                    f"held-out D accuracy {acc:.3f}  ({rate:.1f} steps/s)")
            if args.every and step % args.every == 0:
                save_samples(generator, z_fixed, os.path.join(args.out, f"samples_step_{step:06d}.png"))

    elapsed = time.time() - start
    final = save_samples(generator, z_fixed, os.path.join(args.out, "final_samples.png"))
    with open(os.path.join(args.out, "losses.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "d_loss", "g_loss", "d_real", "d_fake"])
        w.writerows(zip(*(history[k] for k in ("step", "d_loss", "g_loss", "d_real", "d_fake"))))
    plot_msg = save_loss_plot(history, os.path.join(args.out, "losses.png")) if history["step"] else None

    acc, acc_real, acc_fake = discriminator_accuracy(generator, discriminator, held_out, z_eval)
    tail = max(1, min(100, len(history["d_loss"])))
    result = {
        "generator": generator, "discriminator": discriminator, "history": history,
        "steps": step, "seconds": elapsed,
        "d_loss": float(np.mean(history["d_loss"][-tail:])) if history["d_loss"] else float("nan"),
        "g_loss": float(np.mean(history["g_loss"][-tail:])) if history["g_loss"] else float("nan"),
        "d_accuracy": acc, "d_accuracy_real": acc_real, "d_accuracy_fake": acc_fake,
        "samples": final,
    }
    say(f"done: {step} steps in {elapsed:.1f} s ({step / max(elapsed, 1e-9):.1f} steps/s)")
    say(f"final losses (mean of last {tail} steps): D {result['d_loss']:.3f}  G {result['g_loss']:.3f}")
    say(f"discriminator accuracy on held-out data: {acc:.3f} "
        f"(real test digits called real: {acc_real:.3f}, samples called fake: {acc_fake:.3f})")
    say(f"samples: {final}")
    if plot_msg:
        say(f"loss curve: {plot_msg}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
