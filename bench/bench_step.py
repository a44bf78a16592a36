"""Time training steps in this process: median of repeats, for before/after comparisons.

``--model cnn`` is the seed CNN (bench_cnn.py's model), ``lstm`` and ``gpt`` the sequence
models of bench_sequence.py (tinydl only, no PyTorch).

For before/after comparisons of the core (the autograd walk, op dispatch) on the same machine:
run it once per checkout, one right after the other, e.g.

    PYTHONPATH=/path/to/other/checkout python bench/bench_step.py --steps 30 --repeats 5
"""
import argparse
import os
import statistics
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["cnn", "lstm", "gpt"], default="cnn")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cpu-time", action="store_true",
                   help="time with process CPU time (steadier than wall time on a shared machine)")
    a = p.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import numpy as np
    import tinydl
    from tinydl.nn import losses
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_cnn import _tinydl_model

    tinydl.manual_seed(0)
    if a.model != "cnn":
        import bench_sequence
        step, _ = getattr(bench_sequence, f"tinydl_{a.model}")()
        return _time(step, a, tinydl, f"{a.model}, batch {bench_sequence.BATCH} x {bench_sequence.STEPS}")
    model = _tinydl_model()
    with tinydl.no_grad():
        model(tinydl.zeros((1, 28, 28, 1)))
    opt = tinydl.optim.Adam(list(model.parameters()), lr=1e-3)
    rng = np.random.default_rng(0)
    x = tinydl.Tensor(rng.random((a.batch, 28, 28, 1), dtype=np.float32))
    y = tinydl.Tensor(rng.integers(0, 10, a.batch))

    def step():
        loss = losses.sparse_categorical_crossentropy(y, model(x))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return _time(step, a, tinydl, f"cnn, batch {a.batch}")


def _time(step, a, tinydl, what):
    for _ in range(5):
        step()
    clock = time.process_time if a.cpu_time else time.perf_counter
    times = []
    for _ in range(a.repeats):
        t0 = clock()
        for _ in range(a.steps):
            step()
        times.append((clock() - t0) / a.steps)
    med = statistics.median(times)
    print(f"{tinydl.__file__}: {what}, median {med * 1e3:.2f} ms/step "
          f"({'CPU' if a.cpu_time else 'wall'} time) "
          f"(min {min(times) * 1e3:.2f}) over {a.repeats} x {a.steps} steps")


if __name__ == "__main__":
    main()
