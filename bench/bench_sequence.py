"""Training-step throughput of the sequence models: tinydl against PyTorch (CPU), same threads.

    python bench/bench_sequence.py [--threads 1] [--repeats 10] [--out bench_sequence.json]

Two workloads, each one full training step (forward, loss, backward, optimizer update) on a
batch of 32 sequences of 64 tokens, vocabulary 65 (tinyshakespeare's characters):

* ``lstm``: Embedding(65, 64) -> LSTM(256) -> Dense(65), softmax cross-entropy, Adam;
* ``gpt``: the tiny GPT of ``examples/tiny_gpt.py`` (4 pre-norm blocks, 4 heads, dim 128,
  block 64, GELU MLP 512) -> cross-entropy, AdamW.

PyTorch runs the same architecture (nn.LSTM; nn.MultiheadAttention with a causal mask) with
``torch.set_num_threads(threads)``; tinydl's BLAS gets the same thread count through
``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` (set before NumPy loads). Each cell is the median
over ``--repeats`` steps after ``--warmup`` steps. tokens/s = 32 * 64 / step time; "torch /
tinydl" is how many times faster PyTorch is. PyTorch is imported only here; without it the
tinydl column is still printed. To get it in a separate environment::

    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install torch==2.13.0 numpy numba
    /tmp/benchvenv/bin/pip install -e . --no-deps && /tmp/benchvenv/bin/python bench/bench_sequence.py
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

BATCH, STEPS, VOCAB = 32, 64, 65


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--which", default="lstm,gpt")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def timed(step, warmup, repeats):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


# ---------------------------------------------------------------------------------------- tinydl
def tinydl_lstm():
    import numpy as np
    from tinydl import nn, optim
    from tinydl.nn.layers import KerasEmbedding as Embedding
    from tinydl.nn.layers import KerasLSTM as LSTM

    emb, lstm, head = Embedding(VOCAB, 64), LSTM(256, return_sequences=True), nn.Dense(VOCAB)
    rng = np.random.default_rng(0)
    lstm(emb(np.zeros((1, 1), np.int64)))
    head(np.zeros((1, 256), np.float32))
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = optim.Adam(params, lr=1e-3)

    def step():
        ids = rng.integers(0, VOCAB, (BATCH, STEPS + 1))
        opt.zero_grad()
        h = lstm(emb(ids[:, :-1]))
        logits = head(h.reshape(BATCH * STEPS, 256))
        nn.functional.cross_entropy(logits, ids[:, 1:].reshape(-1)).backward()
        opt.step()
    return step, sum(p.numel() for p in params)


def tinydl_gpt():
    import numpy as np
    from tinydl import nn, optim
    from tinydl.nn.layers.transformer import TransformerLM

    model = TransformerLM(VOCAB, STEPS, dim=128, num_heads=4, num_layers=4)
    rng = np.random.default_rng(0)
    params = list(model.parameters())
    opt = optim.AdamW(params, lr=1e-3)

    def step():
        ids = rng.integers(0, VOCAB, (BATCH, STEPS + 1))
        opt.zero_grad()
        logits = model(ids[:, :-1])
        nn.functional.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1)).backward()
        opt.step()
    return step, sum(p.numel() for p in params)


# ---------------------------------------------------------------------------------------- torch
def torch_lstm(torch):
    nn = torch.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.head = nn.Embedding(VOCAB, 64), nn.LSTM(64, 256, batch_first=True), nn.Linear(256, VOCAB)

        def forward(self, ids):
            return self.head(self.lstm(self.emb(ids))[0])

    return _torch_step(torch, M(), torch.optim.Adam)


def torch_gpt(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True)
            self.ff1, self.ff2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.ff2(nn.functional.gelu(self.ff1(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self, d=128, h=4, layers=4):
            super().__init__()
            self.tok, self.pos = nn.Embedding(VOCAB, d), nn.Parameter(torch.zeros(STEPS, d))
            self.blocks = nn.ModuleList(Block(d, h) for _ in range(layers))
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, VOCAB)
            self.register_buffer("mask", torch.triu(torch.ones(STEPS, STEPS, dtype=torch.bool), 1))

        def forward(self, ids):
            x = self.tok(ids) + self.pos[:ids.shape[1]]
            for b in self.blocks:
                x = b(x, self.mask)
            return self.head(self.ln(x))

    return _torch_step(torch, GPT(), torch.optim.AdamW)


def _torch_step(torch, model, opt_cls):
    opt = opt_cls(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)

    def step():
        ids = torch.randint(0, VOCAB, (BATCH, STEPS + 1), generator=gen)
        opt.zero_grad()
        logits = model(ids[:, :-1])
        torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1)).backward()
        opt.step()
    return step, sum(p.numel() for p in model.parameters())


def main(argv=None):
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy (and its BLAS) loads
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("PyTorch is not installed: printing tinydl's numbers only (see this file's docstring "
              "for installing torch==2.13.0 in a separate venv).")
    import numpy as np  # noqa: F401 - loads with the thread settings above

    workloads = {"lstm": ("LSTM LM (emb 64, 256 units)", tinydl_lstm, torch_lstm),
                 "gpt": ("tiny GPT (4x128, 4 heads)", tinydl_gpt, torch_gpt)}
    rows = []
    tokens = BATCH * STEPS
    for key in args.which.split(","):
        title, mk_td, mk_torch = workloads[key]
        step, n_params = mk_td()
        td_med, td_min = timed(step, args.warmup, args.repeats)
        row = {"workload": key, "title": title, "params": n_params, "batch": BATCH, "steps": STEPS,
               "tinydl_step_s": td_med, "tinydl_step_min_s": td_min, "tinydl_tokens_per_s": tokens / td_med}
        if torch is not None:
            step_t, n_params_t = mk_torch(torch)
            t_med, t_min = timed(step_t, args.warmup, args.repeats)
            row.update({"torch_params": n_params_t, "torch_step_s": t_med, "torch_step_min_s": t_min,
                        "torch_tokens_per_s": tokens / t_med, "torch_over_tinydl": td_med / t_med})
        rows.append(row)
        print(f"{key}: tinydl {td_med * 1e3:.1f} ms/step" +
              (f", torch {row['torch_step_s'] * 1e3:.1f} ms/step" if torch is not None else ""), flush=True)

    print(f"\nbatch {BATCH} x {STEPS} tokens, {args.threads} thread(s), median of {args.repeats} steps "
          f"(after {args.warmup} warm-up); {platform.processor() or platform.machine()}\n")
    head = "| workload | params | tinydl ms/step | tinydl tokens/s |"
    sep = "|---|---:|---:|---:|"
    if torch is not None:
        head += f" torch {torch.__version__} ms/step | torch tokens/s | torch / tinydl |"
        sep += "---:|---:|---:|"
    print(head)
    print(sep)
    for r in rows:
        line = (f"| {r['title']} | {r['params']:,} | {r['tinydl_step_s'] * 1e3:.1f} | "
                f"{r['tinydl_tokens_per_s']:,.0f} |")
        if torch is not None:
            line += (f" {r['torch_step_s'] * 1e3:.1f} | {r['torch_tokens_per_s']:,.0f} | "
                     f"{r['torch_over_tinydl']:.2f}x |")
        print(line)
    result = {"threads": args.threads, "repeats": args.repeats, "warmup": args.warmup,
              "torch_version": None if torch is None else torch.__version__, "rows": rows}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
