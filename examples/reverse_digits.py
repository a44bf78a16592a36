"""Reverse a sequence of digits: a synthetic task that attention solves.

Input: ``--length`` random digits; target: the same digits reversed. Output position i must copy
input position L-1-i, which a recurrent model has to memorize but attention can look up: a
small bidirectional (non-causal) transformer with learned positions learns it in seconds.
Training stops when the sequence accuracy (every digit right) on ``--eval`` held-out
sequences reaches ``--target`` (default 99%), or after ``--steps`` steps / ``--minutes``.

    python examples/reverse_digits.py            # prints the accuracy and the time it took
"""
import argparse
import json
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--length", type=int, default=16)
    p.add_argument("--steps", type=int, default=3000, help="maximum training steps")
    p.add_argument("--minutes", type=float, default=None, help="CPU-time budget")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--eval", type=int, default=2000, help="held-out sequences")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (set before numpy loads)")
    p.add_argument("--json", default=None, help="write the metrics to this JSON file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np
    import tinydl
    from tinydl import nn, optim
    from tinydl.nn.layers import KerasEmbedding as Embedding
    from tinydl.nn.layers.embedding import PositionalEmbedding
    from tinydl.nn.layers.layernorm import LayerNormalization
    from tinydl.nn.layers.transformer import TransformerBlock

    class Reverser(nn.Module):
        def __init__(self, length, dim, heads, layers):
            super().__init__()
            self.num_layers = layers
            self.tok = Embedding(10, dim)
            self.pos = PositionalEmbedding(length, dim)
            for i in range(layers):
                setattr(self, f"block{i}", TransformerBlock(dim, heads, causal=False))
            self.ln = LayerNormalization(epsilon=1e-5)
            self.head = nn.Dense(10)

        def forward(self, digits):
            x = self.pos(self.tok(digits))
            for i in range(self.num_layers):
                x = getattr(self, f"block{i}")(x)
            n, t, d = x.shape
            return self.head(self.ln(x).reshape(n * t, d)).reshape(n, t, 10)

    tinydl.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    L = args.length
    test_x = np.random.default_rng(10_000 + args.seed).integers(0, 10, (args.eval, L))
    test_y = test_x[:, ::-1]
    model = Reverser(L, args.dim, args.heads, args.layers)
    model(test_x[:2])
    params = list(model.parameters())
    opt = optim.Adam(params, lr=args.lr)
    print(f"reverse {L} digits; model: {args.layers} transformer blocks, dim {args.dim}, {args.heads} heads, "
          f"{sum(p.numel() for p in params):,} parameters")

    def accuracy():
        model.eval()
        with tinydl.no_grad():
            pred = model(test_x).detach().numpy().argmax(-1)
        model.train()
        return float((pred == test_y).all(axis=1).mean()), float((pred == test_y).mean())

    cpu0, wall0 = time.process_time(), time.perf_counter()
    first_loss, seq_acc, digit_acc, history = None, 0.0, 0.0, []
    step = 0
    for step in range(1, args.steps + 1):
        x = rng.integers(0, 10, (args.batch, L))
        y = x[:, ::-1].copy()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, 10), y.reshape(-1))
        loss.backward()
        opt.step()
        first_loss = loss.item() if first_loss is None else first_loss
        if step % args.eval_every == 0:
            seq_acc, digit_acc = accuracy()
            history.append({"step": step, "loss": loss.item(), "seq_acc": seq_acc, "digit_acc": digit_acc,
                            "cpu_s": time.process_time() - cpu0})
            print(f"step {step}: loss {loss.item():.4f}, sequence accuracy {seq_acc:.2%}, digit accuracy {digit_acc:.2%}")
            if seq_acc >= args.target:
                break
        if args.minutes and time.process_time() - cpu0 > args.minutes * 60:
            break
    seq_acc, digit_acc = accuracy()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"held-out sequence accuracy {seq_acc:.2%} (digit accuracy {digit_acc:.2%}) after {step} steps; "
          f"CPU {cpu:.1f} s, wall {wall:.1f} s")
    example = test_x[0]
    with tinydl.no_grad():
        model.eval()
        got = model(example[None]).detach().numpy().argmax(-1)[0]
    print(f"example: {''.join(map(str, example))} -> {''.join(map(str, got))}")
    result = {"seq_acc": seq_acc, "digit_acc": digit_acc, "steps": step, "cpu_s": cpu, "wall_s": wall,
              "first_loss": first_loss, "final_loss": loss.item(), "history": history}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
