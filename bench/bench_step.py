"""Time training steps of the seed CNN (bench_cnn.py's model) in this process: median of repeats.

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
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import numpy as np
    import tinydl
    from tinydl.nn import losses
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_cnn import _tinydl_model

    tinydl.manual_seed(0)
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

    for _ in range(5):
        step()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        times.append((time.perf_counter() - t0) / a.steps)
    med = statistics.median(times)
    print(f"{tinydl.__file__}: batch {a.batch}, median {med * 1e3:.2f} ms/step "
          f"(min {min(times) * 1e3:.2f}) over {a.repeats} x {a.steps} steps")


if __name__ == "__main__":
    main()
