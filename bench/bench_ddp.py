"""Data-parallel scaling: 1 process vs N processes (DistributedDataParallel over MPI).

    python bench/bench_ddp.py [--procs 1,2] [--which cnn,gpt] [--steps 20] [--repeats 3]
                              [--out bench/results/dev-2core/bench_ddp.json]

Weak scaling, one BLAS/Numba thread per process: every process trains on its own batch of the
same size (the seed CNN: 32 MNIST-shaped images, Adam; the tiny GPT of examples/tiny_gpt.py:
32 x 64 tokens, AdamW), so N processes do N times the work per step. The 1-process run is the
plain model (no DDP, no communication); N > 1 wraps it in DistributedDataParallel (25 MB
buckets). Each run is launched with ``mpiexec -n N`` and reports:

* throughput: images (tokens) per second over all processes = N * batch / median step time
  (the slowest rank's step time);
* scaling efficiency = throughput(N) / (N * throughput(1));
* communication share: the time spent inside the gradient reducer (flattening gradients into
  buckets, starting the all-reduces, driving MPI progress and waiting for the last bucket,
  copying results back), as a fraction of the step time, averaged over ranks. Communication
  hidden behind backward by the non-blocking all-reduces does not count; waiting does, including
  waiting for a slower rank to reach the all-reduce;
* the all-reduce alone: the same gradient bytes all-reduced in isolation (ranks aligned by a
  barrier first), as a share of the step: the transfer cost without the waiting for stragglers;
* buckets: how many, and the share that had finished when the last gradient was ready.

It also measures the all-reduce itself (of 8 bytes: the latency alpha; and of the model's gradient
bytes), which ``ddp_scaling_model.py`` and the README's alpha-beta model start from.
"""
import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BATCH, SEQ, VOCAB = 32, 64, 65


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--procs", default="1,2")
    p.add_argument("--which", default="cnn,gpt")
    p.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None, help="write JSON here (and Markdown next to it)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--ddp", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------- models
def cnn_step():
    import numpy as np
    import tinydl
    from tinydl import nn, optim
    from tinydl.nn import losses
    model = nn.Sequential(nn.Conv2D(32, 3, activation="relu"), nn.MaxPooling2D(2),
                          nn.Conv2D(64, 3, activation="relu"), nn.MaxPooling2D(2),
                          nn.Conv2D(64, 3, activation="relu"), nn.Flatten(),
                          nn.Dense(64, activation="relu"), nn.Dense(10, activation="softmax"))
    with tinydl.no_grad():
        model(tinydl.zeros((1, 28, 28, 1)))
    rng = np.random.default_rng(1)
    data = [(tinydl.Tensor(rng.random((BATCH, 28, 28, 1), dtype=np.float32)),
             rng.integers(0, 10, BATCH)) for _ in range(4)]

    def make(wrapped):
        opt = optim.Adam(wrapped.parameters(), lr=1e-3)

        def step(i):
            x, y = data[i % len(data)]
            opt.zero_grad()
            losses.sparse_categorical_crossentropy(y, wrapped(x)).backward()
            opt.step()
        return step
    return model, make, BATCH


def gpt_step():
    import numpy as np
    from tinydl import nn, optim
    from tinydl.nn.layers.transformer import TransformerLM
    model = TransformerLM(VOCAB, SEQ, dim=128, num_heads=4, num_layers=4)
    rng = np.random.default_rng(1)
    data = [rng.integers(0, VOCAB, (BATCH, SEQ + 1)) for _ in range(4)]

    def make(wrapped):
        opt = optim.AdamW(wrapped.parameters(), lr=1e-3)

        def step(i):
            ids = data[i % len(data)]
            opt.zero_grad()
            logits = wrapped(ids[:, :-1])
            nn.functional.cross_entropy(logits.reshape(-1, VOCAB), ids[:, 1:].reshape(-1)).backward()
            opt.step()
        return step
    return model, make, BATCH * SEQ


# ---------------------------------------------------------------------------------------- worker
def worker(a):
    import numpy as np
    import tinydl
    import tinydl.distributed as dist
    from tinydl.nn.parallel import DistributedDataParallel
    dist.init_process_group("mpi", timeout=600)
    rank, world = dist.get_rank(), dist.get_world_size()
    tinydl.manual_seed(0)
    model, make, units = {"cnn": cnn_step, "gpt": gpt_step}[a.worker]()
    wrapped = DistributedDataParallel(model) if a.ddp else model
    step = make(wrapped)
    grad_bytes = sum(p.data.nbytes for p in model.parameters() if p.requires_grad)
    for i in range(a.warmup):
        step(i)
    step_times, comm_shares = [], []
    for _ in range(a.repeats):
        dist.barrier()
        if a.ddp:
            wrapped.reducer.comm_seconds = 0.0
        t0 = time.perf_counter()
        for i in range(a.steps):
            step(i)
        elapsed = time.perf_counter() - t0
        mine = tinydl.Tensor(np.array([elapsed], np.float64))
        dist.all_reduce(mine, op=dist.ReduceOp.MAX)       # the slowest rank sets the pace
        share = tinydl.Tensor(np.array([wrapped.reducer.comm_seconds / elapsed if a.ddp else 0.0]))
        dist.all_reduce(share, op=dist.ReduceOp.AVG)
        step_times.append(mine.item() / a.steps)
        comm_shares.append(share.item())
    # the all-reduce alone: a tiny message (latency) and the model's gradient bytes; the minimum
    # over repeats is the transfer cost, the median adds the machine's scheduling noise
    allreduce, allreduce_median = {}, {}
    for name, n in (("8 B", 1), ("gradients", grad_bytes // 8)):
        buf = tinydl.Tensor(np.zeros(n, np.float64))
        dist.all_reduce(buf)
        times = []
        for _ in range(30 if n > 1 else 200):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(buf)
            elapsed = tinydl.Tensor(np.array([time.perf_counter() - t0]))
            dist.all_reduce(elapsed, op=dist.ReduceOp.MIN)   # the rank that arrived last waited least
            times.append(elapsed.item())
        allreduce[name], allreduce_median[name] = min(times), statistics.median(times)
    if rank == 0:
        step_time = statistics.median(step_times)
        result = {"model": a.worker, "procs": world, "ddp": a.ddp, "units_per_step": units * world,
                  "step_time_s": step_time, "throughput": units * world / step_time,
                  "comm_share": statistics.median(comm_shares), "grad_bytes": grad_bytes,
                  "allreduce_s": allreduce, "allreduce_median_s": allreduce_median,
                  "step_times_s": step_times,
                  "buckets": wrapped.reducer.bucket_sizes() if a.ddp else None,
                  "buckets_done_before_backward_ended": (
                      wrapped.reducer.buckets_done_early / max(wrapped.reducer.buckets_reduced, 1)
                      if a.ddp else None)}
        pathlib.Path(a.result).write_text(json.dumps(result))
    dist.destroy_process_group()


# ---------------------------------------------------------------------------------------- driver
def mpiexec():
    here = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def run(model, procs, a, tmp):
    out = pathlib.Path(tmp) / f"{model}_{procs}.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    cmd = [mpiexec(), "-n", str(procs), sys.executable, str(pathlib.Path(__file__).resolve()),
           "--worker", model, "--steps", str(a.steps), "--warmup", str(a.warmup),
           "--repeats", str(a.repeats), "--result", str(out)] + (["--ddp"] if procs > 1 else [])
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return json.loads(out.read_text())


def table(results):
    base = {r["model"]: r for r in results if r["procs"] == 1}
    lines = ["| model | processes | units/s | step time (ms) | scaling efficiency | communication share | "
             "the all-reduce alone, share of the step | buckets (done before backward ended) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        unit = "images" if r["model"] == "cnn" else "tokens"
        eff = r["throughput"] / (r["procs"] * base[r["model"]]["throughput"]) if r["model"] in base else float("nan")
        r["efficiency"] = eff
        lines.append(f"| {'seed CNN' if r['model'] == 'cnn' else 'tiny GPT'} | {r['procs']} | "
                     f"{r['throughput']:,.0f} {unit}/s | {1e3 * r['step_time_s']:.1f} | {eff:.2f} | "
                     f"{100 * r['comm_share']:.1f}% | "
                     + (f"{100 * r['allreduce_s']['gradients'] / r['step_time_s']:.1f}% | " if r["ddp"] else "- | ")
                     + (f"{len(r['buckets'])} ({100 * r['buckets_done_before_backward_ended']:.0f}%) |"
                        if r["buckets"] else "- |"))
    lines.append("")
    lines.append("| model | gradient bytes | all-reduce of 8 B, min / median (us) | "
                 "all-reduce of the gradients, min / median (ms) |")
    lines.append("|---|---|---|---|")
    for r in results:
        if r["procs"] > 1:
            a, m = r["allreduce_s"], r["allreduce_median_s"]
            lines.append(f"| {r['model']} ({r['procs']} processes) | {r['grad_bytes']:,} | "
                         f"{1e6 * a['8 B']:.1f} / {1e6 * m['8 B']:.1f} | "
                         f"{1e3 * a['gradients']:.2f} / {1e3 * m['gradients']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    a = parse_args(argv)
    if a.worker:
        return worker(a)
    import tempfile
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.which.split(","):
            for procs in (int(p) for p in a.procs.split(",")):
                results.append(run(model, procs, a, tmp))
                print(f"{model} x{procs}: {results[-1]['throughput']:,.0f}/s", flush=True)
    md = table(results)
    header = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.2f} at the end; {a.steps} steps x {a.repeats} repeats (median)")
    print(header)
    print(md)
    if a.out:
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"header": header, "results": results}, indent=1))
        out.with_suffix(".md").write_text(header + "\n\n" + md + "\n")


if __name__ == "__main__":
    main()
