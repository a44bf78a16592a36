"""Training-step throughput of the sequence models: tinydl against PyTorch (CPU), same threads.

    python bench/bench_sequence.py [--threads 1] [--repeats 10] [--which lstm,gru,gpt]
                                   [--torch-python PATH] [--out bench_sequence.json]

Three workloads, each one full training step (forward, loss, backward, optimizer update) on a
batch of 32 sequences of 64 tokens, vocabulary 65 (tinyshakespeare's characters):

* ``lstm``: Embedding(65, 64) -> LSTM(256) -> Dense(65), softmax cross-entropy, Adam;
* ``gru``: Embedding(65, 64) -> GRU(256) (reset after the matmul, PyTorch's and Keras 2's
  default) -> Dense(65), softmax cross-entropy, Adam;
* ``gpt``: the tiny GPT of ``examples/tiny_gpt.py`` (4 pre-norm blocks, 4 heads, dim 128,
  block 64, GELU MLP 512) -> cross-entropy, AdamW.

PyTorch runs the same architecture (nn.LSTM / nn.GRU; nn.MultiheadAttention with a causal
mask) with ``torch.set_num_threads(threads)``; tinydl's BLAS gets the same thread count through
``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``NUMBA_NUM_THREADS`` (set before NumPy loads).
Every (framework, workload) cell runs in a process of its own (this file with ``--worker``):
tinydl's with this interpreter, PyTorch's with ``--torch-python`` (default: this interpreter if
it imports torch, else ``/work/benchvenv/bin/python``; it needs only torch, not tinydl).  Each
cell is the median over ``--repeats`` steps after ``--warmup`` steps. tokens/s = 32 * 64 / step
time; "tinydl / torch" is tinydl's speed over PyTorch's (tokens/s over tokens/s: above 1, tinydl is faster). Without PyTorch the tinydl column
is still printed. To get PyTorch in a separate environment::

    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install torch==2.13.0 numpy
    python bench/bench_sequence.py --torch-python /tmp/benchvenv/bin/python
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

BATCH, STEPS, VOCAB = 32, 64, 65
DEFAULT_TORCH_PYTHON = "/work/benchvenv/bin/python"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--which", default="lstm,gru,gpt")
    p.add_argument("--torch-python", default=None, help="the interpreter that has PyTorch")
    p.add_argument("--no-torch", action="store_true", help="measure tinydl only")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # "tinydl:lstm" ...: one cell
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
    from tinydl.nn.layers import KerasLSTM
    return _tinydl_rnn(KerasLSTM(256, return_sequences=True))


def tinydl_gru():
    from tinydl.nn.layers import KerasGRU
    return _tinydl_rnn(KerasGRU(256, return_sequences=True))


def _tinydl_rnn(rnn):
    import numpy as np
    from tinydl import nn, optim
    from tinydl.nn.layers import KerasEmbedding as Embedding

    emb, head = Embedding(VOCAB, 64), nn.Dense(VOCAB)
    rng = np.random.default_rng(0)
    rnn(emb(np.zeros((1, 1), np.int64)))
    head(np.zeros((1, 256), np.float32))
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = optim.Adam(params, lr=1e-3)

    def step():
        ids = rng.integers(0, VOCAB, (BATCH, STEPS + 1))
        opt.zero_grad()
        h = rnn(emb(ids[:, :-1]))
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
    return _torch_rnn(torch, torch.nn.LSTM)


def torch_gru(torch):
    return _torch_rnn(torch, torch.nn.GRU)


def _torch_rnn(torch, rnn_cls):
    nn = torch.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.head = nn.Embedding(VOCAB, 64), rnn_cls(64, 256, batch_first=True), nn.Linear(256, VOCAB)

        def forward(self, ids):
            return self.head(self.rnn(self.emb(ids))[0])

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


WORKLOADS = {"lstm": ("LSTM LM (emb 64, 256 units)", tinydl_lstm, torch_lstm),
             "gru": ("GRU LM (emb 64, 256 units)", tinydl_gru, torch_gru),
             "gpt": ("tiny GPT (4x128, 4 heads)", tinydl_gpt, torch_gpt)}


def worker(args):
    """One cell in this process: print ``{"median", "min", "params"[, "version"]}`` as JSON."""
    framework, key = args.worker.split(":")
    _, mk_td, mk_torch = WORKLOADS[key]
    extra = {}
    if framework == "torch":
        import torch
        torch.set_num_threads(args.threads)
        step, n_params = mk_torch(torch)
        extra["version"] = torch.__version__
    else:
        step, n_params = mk_td()
    med, best = timed(step, args.warmup, args.repeats)
    print(json.dumps({"median": med, "min": best, "params": n_params, **extra}))


def thread_env(threads):
    env = dict(os.environ)
    env.update({v: str(threads) for v in THREAD_VARS})  # before NumPy (and its BLAS) loads
    return env


def torch_python(args):
    if args.no_torch:
        return None
    for py in ([args.torch_python] if args.torch_python else []) + [sys.executable, DEFAULT_TORCH_PYTHON]:
        if py and os.path.exists(py) and subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    return None


def run_cell(python, framework, key, args):
    cmd = [python, os.path.abspath(__file__), "--worker", f"{framework}:{key}", "--threads", str(args.threads),
           "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    p = subprocess.run(cmd, env=thread_env(args.threads), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"the {framework} worker for {key} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        for var in THREAD_VARS:
            os.environ[var] = str(args.threads)
        return worker(args)
    py_torch = torch_python(args)
    if py_torch is None and not args.no_torch:
        print("PyTorch was not found: printing tinydl's numbers only (see this file's docstring "
              "for installing torch==2.13.0 in a separate venv, and --torch-python).")
    rows = []
    tokens = BATCH * STEPS
    torch_version = None
    for key in args.which.split(","):
        title = WORKLOADS[key][0]
        cell = run_cell(sys.executable, "tinydl", key, args)
        td_med, td_min = cell["median"], cell["min"]
        row = {"workload": key, "title": title, "params": cell["params"], "batch": BATCH, "steps": STEPS,
               "tinydl_step_s": td_med, "tinydl_step_min_s": td_min, "tinydl_tokens_per_s": tokens / td_med}
        if py_torch is not None:
            cell = run_cell(py_torch, "torch", key, args)
            t_med, t_min, torch_version = cell["median"], cell["min"], cell["version"]
            row.update({"torch_params": cell["params"], "torch_step_s": t_med, "torch_step_min_s": t_min,
                        "torch_tokens_per_s": tokens / t_med, "torch_over_tinydl": td_med / t_med, "tinydl_over_torch": t_med / td_med})
        rows.append(row)
        print(f"{key}: tinydl {td_med * 1e3:.1f} ms/step" +
              (f", torch {row['torch_step_s'] * 1e3:.1f} ms/step" if py_torch is not None else ""), flush=True)

    print(f"\nbatch {BATCH} x {STEPS} tokens, {args.threads} thread(s), median of {args.repeats} steps "
          f"(after {args.warmup} warm-up); {platform.processor() or platform.machine()}\n")
    head = "| workload | params | tinydl ms/step | tinydl tokens/s |"
    sep = "|---|---:|---:|---:|"
    if py_torch is not None:
        head += f" torch {torch_version} ms/step | torch tokens/s | tinydl / torch |"
        sep += "---:|---:|---:|"
    print(head)
    print(sep)
    for r in rows:
        line = (f"| {r['title']} | {r['params']:,} | {r['tinydl_step_s'] * 1e3:.1f} | "
                f"{r['tinydl_tokens_per_s']:,.0f} |")
        if py_torch is not None:
            line += (f" {r['torch_step_s'] * 1e3:.1f} | {r['torch_tokens_per_s']:,.0f} | "
                     f"{r['tinydl_over_torch']:.2f}x |")
        print(line)
    result = {"threads": args.threads, "repeats": args.repeats, "warmup": args.warmup,
              "torch_version": torch_version, "rows": rows}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
