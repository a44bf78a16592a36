"""The Numba provider's convolution tile budgets, compared on the seed CNN in one process.

    python bench/bench_conv_tiles.py [--threads T] [--rounds 30] [--batch-sizes 32,128]
                                     [--configs 2048/2048,768/256]

Each config is ``COLS_KiB/OUT_KiB``: ``numba_cpu.CONV_TILE_BYTES`` (a tile's rows of the
column matrix) and ``CONV_OUT_TILE_BYTES`` (its output rows).  The configs take turns,
round after round, so a noisy neighbour hits them alike: per round, each config runs
the three convolution layers' forward + backward (bias + relu fused, the first layer
without its input gradient, as in training) and then 5 whole training steps; medians over
the rounds are printed, with the speed-up over the first config.  Prints only.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# (input NHWC, kernel) of the seed CNN's convolutions at batch 1; the batch is set per run
LAYERS = (("conv1", (28, 28, 1), (3, 3, 1, 32)),
          ("conv2", (13, 13, 32), (3, 3, 32, 64)),
          ("conv3", (5, 5, 64), (3, 3, 64, 64)))
STEPS_PER_ROUND = 5


def parse_configs(text):
    out = []
    for part in text.split(","):
        cols, outk = (int(v) for v in part.split("/"))
        out.append((f"{cols}/{outk} KiB", cols << 10, outk << 10))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (set before NumPy loads)")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--batch-sizes", default="32,128")
    ap.add_argument("--configs", default="2048/2048,768/256", help="COLS_KiB/OUT_KiB,... (first: baseline)")
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    import bench_cnn as bc
    import tinydl
    from tinydl import optim
    from tinydl.backends import numba_cpu as fast
    from tinydl.nn import losses

    configs = parse_configs(a.configs)
    rng = np.random.default_rng(0)
    print(f"threads {a.threads}, {a.rounds} rounds; ms, medians (speed-up over {configs[0][0]})")
    for batch in (int(v) for v in a.batch_sizes.split(",")):
        layers = []
        for name, hwc, wshape in LAYERS:
            x = rng.random((batch,) + hwc, dtype=np.float32)
            w = ((rng.random(wshape, dtype=np.float32) - 0.5) * 0.1)
            b = np.zeros(wshape[3], np.float32)
            y = fast.conv2d_bias_act_forward(x, w, b, "relu", 1, 0, 1)
            gy = rng.random(y.shape, dtype=np.float32)
            layers.append((name, x, w, b, y, gy, name != "conv1"))

        tinydl.manual_seed(0)
        model = bc._tinydl_model()
        with tinydl.no_grad():
            model(tinydl.zeros((1,) + bc.IMAGE_HWC))
        opt = optim.Adam(list(model.parameters()), lr=1e-3)
        xs_np, ys_np = bc.random_data(batch, 1, nchw=False)
        xs, ys = [tinydl.Tensor(v) for v in xs_np], [tinydl.Tensor(v) for v in ys_np]

        def step(i):
            k = i % bc.DATA_POOL
            loss = losses.sparse_categorical_crossentropy(ys[k], model(xs[k]))
            opt.zero_grad()
            loss.backward()
            opt.step()

        times = {c[0]: {key: [] for key in [n + s for n, *_ in layers for s in (" fwd", " bwd")] + ["step"]}
                 for c in configs}
        for rnd in range(a.rounds + 1):  # round 0 warms up (compiles, sizes the scratch buffers)
            for label, cols_bytes, out_bytes in configs:
                fast.CONV_TILE_BYTES, fast.CONV_OUT_TILE_BYTES = cols_bytes, out_bytes
                t = times[label]
                for name, x, w, b, y, gy, need_gx in layers:
                    t0 = time.perf_counter()
                    fast.conv2d_bias_act_forward(x, w, b, "relu", 1, 0, 1)
                    t1 = time.perf_counter()
                    fast.conv2d_bias_act_backward(x, w, y, gy, "relu", 1, 0, 1, need_gx=need_gx)
                    t2 = time.perf_counter()
                    if rnd:
                        t[name + " fwd"].append(t1 - t0)
                        t[name + " bwd"].append(t2 - t1)
                step(0)
                t0 = time.perf_counter()
                for i in range(STEPS_PER_ROUND):
                    step(i)
                if rnd:
                    t["step"].append((time.perf_counter() - t0) / STEPS_PER_ROUND)
        base = {k: statistics.median(v) for k, v in times[configs[0][0]].items()}
        print(f"\nbatch {batch}")
        print("| config | " + " | ".join(base) + " | images/s |")
        print("|---" * (len(base) + 2) + "|")
        for label, *_ in configs:
            med = {k: statistics.median(v) for k, v in times[label].items()}
            cells = [f"{med[k] * 1e3:.2f} ({base[k] / med[k]:.2f}x)" for k in base]
            print(f"| {label} | " + " | ".join(cells) + f" | {batch / med['step']:,.0f} |")


if __name__ == "__main__":
    main()
