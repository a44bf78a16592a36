"""Training throughput of the MNIST CNN: tinydl vs PyTorch, in the same run.

    python bench/bench_cnn.py [--batch-sizes 32,128] [--steps 30] [--warmup 5] [--repeats 5]
                              [--threads T] [--device cpu|gpu] [--no-torch] [--out bench/results]

The model (channels-last 28x28x1 input for tinydl, NCHW for PyTorch):
Conv2D(32, 3, relu) - MaxPool 2 - Conv2D(64, 3, relu) - MaxPool 2 - Conv2D(64, 3, relu) -
Flatten - Dense(64, relu) - Dense(10, softmax), Adam(lr=1e-3), sparse softmax cross-entropy.
tinydl's model is built from ``tinydl.nn`` layers and trained with ``tinydl.optim.Adam``;
PyTorch's is the same architecture as a PyTorch user writes it (``nn.Sequential`` of
``Conv2d``/``ReLU``/``MaxPool2d``/``Linear``, logits into ``F.cross_entropy``, ``torch.optim.Adam``).

The data is random, of MNIST's shape: float32 images uniform in [0, 1), integer labels uniform
in 0..9, generated once (a few batches, cycled) so that no data loading is timed.  A training
step is forward + loss + backward + optimizer step + zero_grad.

Each (framework, batch size) is measured in its own fresh subprocess, so peak memory is per
framework: peak RSS is ``VmHWM`` from /proc/self/status (``getrusage`` ru_maxrss elsewhere), and
the baseline is the RSS after the framework's imports; both are reported, with their difference.
Times are medians over ``--repeats`` timed runs of ``--steps`` steps each, after ``--warmup``
untimed steps.  See bench/README.md for the method and how to read the tables.

``--device gpu`` (default batch sizes 128,512): tinydl with ``tinydl.set_backend('gpu')`` (model
parameters on the GPU) vs PyTorch on CUDA, with device synchronisation around every timing,
tinydl's kernel launches per training step (``tinydl.backends.cuda.launch_count()``) and GPU memory
(CuPy's memory pool; ``torch.cuda.max_memory_allocated``).

On the CPU, Table 3 gives the overhead of a PyTorch-style loop over a ``DataLoader`` and of Keras's
``fit`` over the bare training step (tinydl alone; ``--loop-batches``, ``--skip-loop``).

PyTorch is optional and imported only inside its own worker process; without it (or with
``--no-torch``) tinydl is measured alone.
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results"
IMAGE_HWC = (28, 28, 1)
NUM_CLASSES = 10
DATA_POOL = 4            # distinct random batches, cycled through
MATMUL_N = 1024          # the float32 matmul that gives the reference FLOP/s

# ----------------------------------------------------------------------------- the model's FLOPs

#: (row name, description) for the per-layer table; the same units in both frameworks.
LAYER_ROWS = (
    ("conv1", "Conv2D 3x3 1->32 + bias + relu"),
    ("pool1", "MaxPool 2x2"),
    ("conv2", "Conv2D 3x3 32->64 + bias + relu"),
    ("pool2", "MaxPool 2x2"),
    ("conv3", "Conv2D 3x3 64->64 + bias + relu"),
    ("flatten", "Flatten"),
    ("dense1", "Dense 576->64 + bias + relu"),
    ("dense2+loss", "Dense 64->10 + softmax cross-entropy (mean)"),
)


def model_flops():
    """Multiply-adds of the conv and dense layers, per image, analytically.

    Returns per-layer MACs and the totals: forward FLOPs = 2 * MACs; a training step is counted
    as forward + backward with backward ~ 2x forward (gradients w.r.t. the input and the
    weights), i.e. 3 * forward.  The first convolution's input gradient is not needed in
    training, so the exact count is smaller by that layer's forward FLOPs; both are given.
    """
    h, w, c = IMAGE_HWC
    layers = []

    def conv(name, cout, k=3):
        nonlocal h, w, c
        h, w = h - k + 1, w - k + 1
        macs = h * w * cout * k * k * c
        layers.append((name, (h, w, cout), macs))
        c = cout

    def pool(name):
        nonlocal h, w
        h, w = h // 2, w // 2
        layers.append((name, (h, w, c), 0))

    conv("conv1", 32)
    pool("pool1")
    conv("conv2", 64)
    pool("pool2")
    conv("conv3", 64)
    flat = h * w * c
    layers.append(("flatten", (flat,), 0))
    layers.append(("dense1", (64,), flat * 64))
    layers.append(("dense2+loss", (NUM_CLASSES,), 64 * NUM_CLASSES))
    macs = sum(m for _, _, m in layers)
    fwd = 2 * macs
    conv1_fwd = 2 * layers[0][2]
    return {
        "layers": [{"name": n, "out_shape": list(s), "macs": m, "fwd_flops": 2 * m} for n, s, m in layers],
        "macs_per_image": macs,
        "fwd_flops_per_image": fwd,
        "train_flops_per_image": 3 * fwd,
        "train_flops_per_image_exact": 3 * fwd - conv1_fwd,
    }


# ----------------------------------------------------------------------------- process helpers


def _status_kib(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss_mib():
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def peak_rss_mib():
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024  # bytes on macOS, KiB on Linux


def thread_env(threads):
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS"):
            env[var] = str(threads)
    return env


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def random_data(batch, seed, nchw):
    import numpy as np
    rng = np.random.default_rng(seed)
    h, w, c = IMAGE_HWC
    shape = (batch, c, h, w) if nchw else (batch, h, w, c)
    xs = [rng.random(shape, dtype=np.float32) for _ in range(DATA_POOL)]
    ys = [rng.integers(0, NUM_CLASSES, batch).astype(np.int64) for _ in range(DATA_POOL)]
    return xs, ys


def time_training(step, sync, batch, steps, warmup, repeats):
    """images/s of each timed run (``steps`` steps), after ``warmup`` untimed steps."""
    for i in range(warmup):
        step(i)
    sync()
    ips = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        sync()
        ips.append(steps * batch / (time.perf_counter() - t0))
    return ips


def profile_rows(units, sync, reps, zero_grads):
    """Median forward and backward ms of each (name, fn) unit.

    ``fn()`` returns ``(out, backward)``: ``out`` is computed (and timed) as the forward, then
    ``backward()`` is timed.  Parameter gradients are cleared (untimed) before each rep, as
    ``zero_grad`` does in training; two untimed reps come first.
    """
    rows = {}
    for name, fn in units:
        fwd, bwd = [], []
        for r in range(reps + 2):
            zero_grads()
            sync()
            t0 = time.perf_counter()
            _, backward = fn()
            sync()
            t1 = time.perf_counter()
            backward()
            sync()
            t2 = time.perf_counter()
            if r >= 2:
                fwd.append((t1 - t0) * 1e3)
                bwd.append((t2 - t1) * 1e3)
        rows[name] = {"fwd_ms": median(fwd), "bwd_ms": median(bwd)}
    return rows


def time_optimizer(step, sync, reps):
    for _ in range(2):
        step()
    ts = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        ts.append((time.perf_counter() - t0) * 1e3)
    return median(ts)


# ----------------------------------------------------------------------------- tinydl worker


def _tinydl_model():
    from tinydl import nn
    return nn.Sequential(
        nn.Conv2D(32, 3, activation="relu"),
        nn.MaxPooling2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPooling2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.Flatten(),
        nn.Dense(64, activation="relu"),
        nn.Dense(NUM_CLASSES, activation="softmax"),
    )


def worker_tinydl(a):
    t_import = time.perf_counter()
    import numpy  # noqa: F401  (in the baseline: the data is made with it)
    import tinydl
    from tinydl import nn, optim  # noqa: F401
    from tinydl.nn import losses
    gpu = a.device == "gpu"
    if gpu:
        import cupy as cp
        from tinydl.backends import cuda as tcuda
        tinydl.set_backend("gpu")
        sync = cp.cuda.Device().synchronize
        pool = cp.get_default_memory_pool()
    else:
        from tinydl.backends import numba_cpu  # noqa: F401  (imports numba and the kernel modules)

        def sync():
            pass
    t_import = time.perf_counter() - t_import
    baseline = current_rss_mib()

    tinydl.manual_seed(0)
    model = _tinydl_model()
    with tinydl.no_grad():  # build the lazily-shaped layers
        model(tinydl.zeros((1,) + IMAGE_HWC))
    if gpu:
        model.to("gpu")
    params = list(model.parameters())
    opt = optim.Adam(params, lr=1e-3)

    b = a.batch
    xs_np, ys_np = random_data(b, 1, nchw=False)
    xs = [tinydl.Tensor(x) for x in xs_np]    # on the active backend (the GPU after set_backend)
    ys = [tinydl.Tensor(y) for y in ys_np]

    def loss_of(x, y):
        return losses.sparse_categorical_crossentropy(y, model(x))

    def step(i):
        k = i % DATA_POOL
        loss = loss_of(xs[k], ys[k])
        opt.zero_grad()
        loss.backward()
        opt.step()

    res = {"framework": "tinydl", "batch": b, "device": a.device, "import_s": t_import}
    res["images_per_s"] = time_training(step, sync, b, a.steps, a.warmup, a.repeats)
    if gpu:
        sync()
        # launches per step: the provider's counter over single steps (median of a few)
        counts, used = [], []
        for i in range(5):
            tcuda.reset_launch_count()
            k = i % DATA_POOL
            loss = loss_of(xs[k], ys[k])
            used.append(pool.used_bytes())        # activations alive: the step's high point
            opt.zero_grad()
            loss.backward()
            used.append(pool.used_bytes())
            opt.step()
            sync()
            counts.append(tcuda.launch_count())
        res["launches_per_step"] = median(counts)
        res["gpu_pool_used_peak_mib"] = max(used) / 2**20
        res["gpu_pool_used_end_mib"] = pool.used_bytes() / 2**20
        res["gpu_pool_total_mib"] = pool.total_bytes() / 2**20
        res["all_kernels_per_step"] = _cupti_kernels_per_step(lambda: step(0), sync)
    else:
        res["rss_baseline_mib"] = baseline
        res["rss_peak_mib"] = peak_rss_mib()

    if a.profile:
        res["profile"] = _tinydl_profile(a, model, opt, xs[0], ys[0], sync, gpu)
    return res


def _tinydl_profile(a, model, opt, x0, y0, sync, gpu):
    import numpy as np
    import tinydl
    from tinydl.nn import losses

    layers = list(model)
    # the real activations entering each layer (relu sparsity as in training)
    acts = [x0]
    with tinydl.no_grad():
        for layer in layers[:-1]:
            acts.append(layer(acts[-1]))
    rng = np.random.default_rng(2)
    xp = x0.xp

    def unit(i):
        layer = layers[i]
        x_in = tinydl.Tensor(acts[i].data, requires_grad=i > 0)
        last = i == len(layers) - 1
        grad = {}

        def fn():
            x_in.grad = None
            if last:
                out = losses.sparse_categorical_crossentropy(y0, layer(x_in))
                return out, out.backward
            out = layer(x_in)
            if "g" not in grad:
                grad["g"] = xp.asarray(rng.standard_normal(out.shape).astype(np.float32))
            return out, lambda: out.backward(grad["g"])
        return fn

    def zero_grads():
        opt.zero_grad()

    units = [(LAYER_ROWS[i][0], unit(i)) for i in range(len(layers))]
    paths = {}
    if gpu:
        paths["gpu"] = profile_rows(units, sync, a.profile_reps, zero_grads)
    else:
        with tinydl.backends.use_reference():
            paths["reference"] = profile_rows(units, sync, a.profile_reps, zero_grads)
        paths["kernel"] = profile_rows(units, sync, a.profile_reps, zero_grads)
    # optimizer: gradients from one full step, then time Adam's update alone
    opt.zero_grad()
    losses.sparse_categorical_crossentropy(y0, model(x0)).backward()
    t_opt = time_optimizer(opt.step, sync, a.profile_reps)
    for rows in paths.values():
        rows["adam"] = {"fwd_ms": None, "bwd_ms": None, "step_ms": t_opt}
    if not gpu:
        with tinydl.backends.use_reference():
            paths["reference"]["adam"]["step_ms"] = time_optimizer(opt.step, sync, a.profile_reps)
    return paths


def _cupti_kernels_per_step(run_step, sync):
    """Every CUDA kernel one step launches (CuPy's own element-wise kernels included), counted by
    CUPTI through torch.profiler when PyTorch is importable; None otherwise."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile
        run_step()
        sync()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            run_step()
            sync()
        n = 0
        for e in prof.events():
            if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA:
                name = e.name.lower()
                if "memcpy" in name or "memset" in name:
                    continue
                n += 1
        return n
    except Exception as e:  # pragma: no cover - depends on the machine
        return f"unavailable ({type(e).__name__}: {e})"


# ----------------------------------------------------------------------------- PyTorch worker


def _torch_model(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(),
        nn.Linear(64, NUM_CLASSES),
    )


def worker_torch(a):
    t_import = time.perf_counter()
    import numpy  # noqa: F401  (in the baseline: the data is made with it)
    import torch
    import torch.nn.functional as F
    t_import = time.perf_counter() - t_import
    gpu = a.device == "gpu"
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device("cuda" if gpu else "cpu")
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    if gpu:
        torch.zeros(1, device=dev)  # create the CUDA context before the baseline
    baseline = current_rss_mib()

    torch.manual_seed(0)
    model = _torch_model(torch).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    b = a.batch
    xs_np, ys_np = random_data(b, 1, nchw=True)
    xs = [torch.from_numpy(x).to(dev) for x in xs_np]
    ys = [torch.from_numpy(y).to(dev) for y in ys_np]
    if gpu:
        torch.cuda.reset_peak_memory_stats()

    def step(i):
        k = i % DATA_POOL
        loss = F.cross_entropy(model(xs[k]), ys[k])
        opt.zero_grad()
        loss.backward()
        opt.step()

    res = {"framework": "pytorch", "batch": b, "device": a.device, "import_s": t_import,
           "torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}
    res["images_per_s"] = time_training(step, sync, b, a.steps, a.warmup, a.repeats)
    if gpu:
        res["gpu_max_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
        res["gpu_max_reserved_mib"] = torch.cuda.max_memory_reserved() / 2**20
        res["all_kernels_per_step"] = _cupti_kernels_per_step(lambda: step(0), sync)
    else:
        res["rss_baseline_mib"] = baseline
        res["rss_peak_mib"] = peak_rss_mib()
        # for information: PyTorch's own float32 matmul (its BLAS may differ from NumPy's)
        m = torch.rand(MATMUL_N, MATMUL_N)
        res["torch_matmul_gflops"] = 2 * MATMUL_N ** 3 / median(_timeit(lambda: m @ m, 7)) / 1e9

    if a.profile:
        res["profile"] = _torch_profile(a, torch, F, model, opt, xs[0], ys[0], sync, gpu)
    return res


def _timeit(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def _torch_profile(a, torch, F, model, opt, x0, y0, sync, gpu):
    mods = list(model)
    # the same units as tinydl's layers: conv+relu, pool, ..., flatten, linear+relu, linear+loss
    groups = [mods[0:2], mods[2:3], mods[3:5], mods[5:6], mods[6:8], mods[8:9], mods[9:11], mods[11:12]]
    acts = [x0]
    with torch.no_grad():
        for g in groups[:-1]:
            h = acts[-1]
            for m in g:
                h = m(h)
            acts.append(h)
    gen = torch.Generator(device=x0.device).manual_seed(2)

    def unit(i):
        seq = torch.nn.Sequential(*groups[i])
        x_in = acts[i].detach().clone().requires_grad_(i > 0)
        last = i == len(groups) - 1
        grad = {}

        def fn():
            x_in.grad = None
            if last:
                out = F.cross_entropy(seq(x_in), y0)
                return out, out.backward
            out = seq(x_in)
            if "g" not in grad:
                grad["g"] = torch.randn(out.shape, generator=gen, device=out.device)
            return out, lambda: out.backward(grad["g"])
        return fn

    units = [(LAYER_ROWS[i][0], unit(i)) for i in range(len(groups))]
    rows = profile_rows(units, sync, a.profile_reps, lambda: opt.zero_grad())
    opt.zero_grad()
    F.cross_entropy(model(x0), y0).backward()
    rows["adam"] = {"fwd_ms": None, "bwd_ms": None, "step_ms": time_optimizer(opt.step, sync, a.profile_reps)}
    return {"pytorch": rows}


# ----------------------------------------------------------------------------- training-loop overhead


def _tinydl_torch_style_model():
    """The seed CNN from tinydl's PyTorch-named modules (NCHW), as a PyTorch user writes it."""
    from tinydl import nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(),
        nn.Linear(64, NUM_CLASSES),
    )


def _tinydl_keras_model():
    """The seed CNN as a ``tinydl.keras`` Sequential, compiled with Adam and the sparse loss."""
    from tinydl import keras
    L = keras.layers
    model = keras.Sequential([
        keras.Input(IMAGE_HWC),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"),
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(NUM_CLASSES, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def worker_loop(a):
    """ms per step of the bare step and of the two training loops around it, interleaved.

    PyTorch style: the bare step (forward, ``F.cross_entropy``, zero_grad, backward,
    ``optim.Adam.step``) on ready-made batches, vs the same step in a loop over a
    ``DataLoader(TensorDataset(x, y), batch_size, shuffle=True)``.  Keras style: the bare step of
    the compiled model (forward, the compiled loss, backward, the optimizer) vs ``model.fit(x, y,
    batch_size, epochs=1, verbose=0)``.  Each loop's epoch holds ``steps * batch`` samples; each
    repeat times the four in turn, so a slow moment of the machine hits them alike.
    """
    import numpy as np
    import tinydl
    from tinydl import optim
    from tinydl.backends import numba_cpu  # noqa: F401
    from tinydl.nn import functional as F
    from tinydl.utils.data import DataLoader, TensorDataset

    b, steps = a.batch, a.steps
    n = b * steps
    rng = np.random.default_rng(1)
    x_nchw = rng.random((n, 1) + IMAGE_HWC[:2], dtype=np.float32)
    x_nhwc = np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))
    y = rng.integers(0, NUM_CLASSES, n).astype(np.int64)
    pool = min(DATA_POOL, steps)

    tinydl.manual_seed(0)
    tmodel = _tinydl_torch_style_model()
    topt = optim.Adam(tmodel.parameters(), lr=1e-3)
    txs = [tinydl.tensor(x_nchw[i * b:(i + 1) * b]) for i in range(pool)]
    tys = [tinydl.tensor(y[i * b:(i + 1) * b]) for i in range(pool)]
    loader = DataLoader(TensorDataset(tinydl.tensor(x_nchw), tinydl.tensor(y)), batch_size=b, shuffle=True)

    def torch_bare():
        for i in range(steps):
            loss = F.cross_entropy(tmodel(txs[i % pool]), tys[i % pool])
            topt.zero_grad()
            loss.backward()
            topt.step()

    def torch_loop():
        tmodel.train()
        for xb, yb in loader:
            loss = F.cross_entropy(tmodel(xb), yb)
            topt.zero_grad()
            loss.backward()
            topt.step()

    kmodel = _tinydl_keras_model()
    kxs = [tinydl.Tensor(x_nhwc[i * b:(i + 1) * b]) for i in range(pool)]
    kys = [tinydl.Tensor(y[i * b:(i + 1) * b]) for i in range(pool)]

    def keras_bare():
        kmodel.train(True)
        for i in range(steps):
            loss = kmodel.compiled_loss(kys[i % pool], kmodel(kxs[i % pool]))
            kmodel.zero_grad()
            loss.backward()
            kmodel.optimizer.step()

    def keras_fit():
        kmodel.fit(x_nhwc, y, batch_size=b, epochs=1, verbose=0)

    runs = {"torch_bare": torch_bare, "torch_loop": torch_loop, "keras_bare": keras_bare, "keras_fit": keras_fit}
    ms = {k: [] for k in runs}
    for r in range(a.repeats + 1):          # the first round warms up (untimed)
        for k, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            if r:
                ms[k].append((time.perf_counter() - t0) * 1e3 / steps)
    return {"framework": "tinydl", "batch": b, "steps": steps, "ms_per_step": ms}


def loop_overhead(r, loop, bare):
    """Overhead of a loop over its bare step, percent, from the medians."""
    m = r["ms_per_step"]
    return 100 * (median(m[loop]) / median(m[bare]) - 1)


def table_loop(res):
    rows = res.get("loop") or []
    if not rows:
        return "(training-loop overhead skipped)"
    lines = ["| batch | bare step, nn modules (ms) | DataLoader loop (ms) | loop overhead | bare step, keras "
             "model (ms) | `fit` (ms) | fit overhead |", "|---|---|---|---|---|---|---|"]

    def cell(r, k):
        v = r["ms_per_step"][k]
        return f"{median(v):.2f} ({min(v):.2f}–{max(v):.2f})"
    for r in rows:
        lines.append(f"| {r['batch']} | {cell(r, 'torch_bare')} | {cell(r, 'torch_loop')} | "
                     f"{loop_overhead(r, 'torch_loop', 'torch_bare'):+.1f}% | {cell(r, 'keras_bare')} | "
                     f"{cell(r, 'keras_fit')} | {loop_overhead(r, 'keras_fit', 'keras_bare'):+.1f}% |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- compile-time worker


def worker_compile(a):
    """Fresh process: import time, then the first and second training step (batch 32).

    The parent points NUMBA_CACHE_DIR (and CUPY_CACHE_DIR) at a temp dir: empty for the cold
    run, filled by the cold run for the warm one.
    """
    t0 = time.perf_counter()
    import numpy  # noqa: F401  (in the baseline: the data is made with it)
    import tinydl
    from tinydl import optim
    from tinydl.nn import losses
    gpu = a.device == "gpu"
    if gpu:
        import cupy as cp
        tinydl.set_backend("gpu")
        sync = cp.cuda.Device().synchronize
    else:
        from tinydl.backends import numba_cpu  # noqa: F401

        def sync():
            pass
    t_import = time.perf_counter() - t0
    rss0 = current_rss_mib()
    tinydl.manual_seed(0)
    model = _tinydl_model()
    with tinydl.no_grad():
        model(tinydl.zeros((1,) + IMAGE_HWC))
    if gpu:
        model.to("gpu")
    opt = optim.Adam(list(model.parameters()), lr=1e-3)
    xs, ys = random_data(32, 3, nchw=False)
    x, y = tinydl.Tensor(xs[0]), tinydl.Tensor(ys[0])
    times = []
    for _ in range(3):
        sync()
        t = time.perf_counter()
        loss = losses.sparse_categorical_crossentropy(y, model(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
        times.append(time.perf_counter() - t)
    return {"import_s": t_import, "first_step_s": times[0], "later_step_s": min(times[1:]),
            "rss_before_first_step_mib": rss0, "rss_after_mib": current_rss_mib()}


# ----------------------------------------------------------------------------- the parent


def run_worker(a, kind, framework=None, batch=0, profile=False, extra_env=None):
    with tempfile.TemporaryDirectory(prefix="bench_cnn_") as tmp:
        result = os.path.join(tmp, "result.json")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", kind, "--_result", result,
               "--device", a.device, "--steps", str(a.steps), "--warmup", str(a.warmup),
               "--repeats", str(a.repeats), "--profile-reps", str(a.profile_reps),
               "--_batch", str(batch)]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        if framework:
            cmd += ["--_framework", framework]
        if profile:
            cmd += ["--_profile"]
        env = thread_env(a.threads)
        env.update(extra_env or {})
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0 or not os.path.exists(result):
            sys.stderr.write(p.stdout + p.stderr)
            raise RuntimeError(f"worker {kind}/{framework}/batch {batch} failed (exit {p.returncode})")
        with open(result) as f:
            out = json.load(f)
        out["worker_wall_s"] = wall
        return out


def measure_matmul(reps=7):
    """Median float32 GFLOP/s of an N^3 NumPy matmul (N = MATMUL_N), this process's threads."""
    import numpy as np
    rng = np.random.default_rng(0)
    m1 = rng.random((MATMUL_N, MATMUL_N), dtype=np.float32)
    m2 = rng.random((MATMUL_N, MATMUL_N), dtype=np.float32)
    out = np.empty_like(m1)
    ts = _timeit(lambda: np.matmul(m1, m2, out=out), reps)
    return {"n": MATMUL_N, "reps": reps, "median_s": median(ts),
            "gflops": 2 * MATMUL_N ** 3 / median(ts) / 1e9}


def measure_gpu_matmul(reps=20):
    """Median float32 TFLOP/s of a 4096^3 cupy.matmul (the GPU's reference FLOP/s)."""
    import cupy as cp
    n = 4096
    m1 = cp.random.random((n, n), dtype=cp.float32)
    m2 = cp.random.random((n, n), dtype=cp.float32)
    ev0, ev1 = cp.cuda.Event(), cp.cuda.Event()
    for _ in range(3):
        cp.matmul(m1, m2)
    ts = []
    for _ in range(reps):
        ev0.record()
        cp.matmul(m1, m2)
        ev1.record()
        ev1.synchronize()
        ts.append(cp.cuda.get_elapsed_time(ev0, ev1) / 1e3)
    return {"n": n, "reps": reps, "median_s": median(ts), "gflops": 2 * n ** 3 / median(ts) / 1e9}


def compile_timing(a):
    """Cold (empty NUMBA_CACHE_DIR / CUPY_CACHE_DIR) and warm first-step times, fresh processes."""
    tmp = tempfile.mkdtemp(prefix="bench_cnn_cache_")
    try:
        env = {"NUMBA_CACHE_DIR": os.path.join(tmp, "numba"), "CUPY_CACHE_DIR": os.path.join(tmp, "cupy")}
        cold = run_worker(a, "compile", extra_env=env)
        warm = run_worker(a, "compile", extra_env=env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"cold": cold, "warm": warm}


def environment(a, torch_ok):
    import numpy as np
    env = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
           "numpy": np.__version__, "platform": platform.platform(), "cpu_count": os.cpu_count(),
           "threads": a.threads, "device": a.device}
    try:
        import numba
        env["numba"] = numba.__version__
    except ImportError:
        env["numba"] = None
    try:
        with open("/proc/cpuinfo") as f:
            env["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        env["cpu"] = platform.processor()
    env["torch"] = "not used (--no-torch)" if a.no_torch else ("installed" if torch_ok else "not installed")
    env["loadavg_start"] = _loadavg()
    return env


def _loadavg():
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def noise_notes(res):
    """Warnings when the numbers are likely distorted: a busy machine, or a wide spread."""
    notes = []
    e = res["environment"]
    cores = e.get("cpu_count") or 1
    loads = [v for v in (e.get("loadavg_start"), e.get("loadavg_end")) if v is not None]
    if res["args"]["device"] == "cpu" and loads and max(loads) > 0.75 * cores:
        notes.append(f"the machine was busy: 1-minute load average {max(loads):.1f} on {cores} cores during "
                     f"the run. Multi-threaded BLAS (and PyTorch's thread pool) can stall for whole scheduler "
                     f"time slices when the cores are oversubscribed, so these numbers can be far off; rerun "
                     f"on a quiet machine" + (", or compare with --threads 1." if res["args"]["threads"] != 1 else "."))
    wide = [f"{r['framework']} batch {r['batch']}" for r in res["train"]
            if min(r["images_per_s"]) > 0 and max(r["images_per_s"]) / min(r["images_per_s"]) > 1.5]
    if wide:
        notes.append("wide spread (max/min images/s > 1.5) over repeats for " + ", ".join(wide)
                     + ": treat those medians with care.")
    return notes


def _f(v, fmt="{:.1f}"):
    return "—" if v is None or (isinstance(v, float) and v != v) else fmt.format(v)


def table_throughput(res):
    flops = res["flops"]["train_flops_per_image"]
    peak = res["matmul"]["gflops"]
    gpu = res["args"]["device"] == "gpu"
    rows = res["train"]
    torch_ips = {r["batch"]: median(r["images_per_s"]) for r in rows if r["framework"] == "pytorch"}
    if gpu:
        head = ("| framework | batch | images/s (median) | min–max | ratio tinydl/PyTorch | ms/step | "
                "tinydl launches/step | all kernels/step (CUPTI) | GPU memory (MiB) | "
                "achieved GFLOP/s | % of matmul FLOP/s |")
        lines = [head, "|" + "---|" * 11]
    else:
        head = ("| framework | batch | images/s (median) | min–max | ratio tinydl/PyTorch | ms/step | "
                "peak RSS (MiB) | baseline RSS (MiB) | peak − baseline (MiB) | achieved GFLOP/s | "
                "% of matmul FLOP/s |")
        lines = [head, "|" + "---|" * 11]
    for r in rows:
        ips = median(r["images_per_s"])
        t = torch_ips.get(r["batch"])
        ratio = ips / t if t else None
        achieved = ips * flops / 1e9
        common = (f"| {r['framework']} | {r['batch']} | {ips:,.0f} | {min(r['images_per_s']):,.0f}–"
                  f"{max(r['images_per_s']):,.0f} | {_f(ratio, '{:.2f}')} | {1e3 * r['batch'] / ips:.2f} | ")
        if gpu:
            if r["framework"] == "tinydl":
                mem = (f"pool used peak {r['gpu_pool_used_peak_mib']:.1f} / pool total "
                       f"{r['gpu_pool_total_mib']:.1f}")
                launches = _f(r.get("launches_per_step"), "{:.0f}")
            else:
                mem = (f"max allocated {r['gpu_max_allocated_mib']:.1f} / max reserved "
                       f"{r['gpu_max_reserved_mib']:.1f}")
                launches = "—"
            allk = r.get("all_kernels_per_step")
            lines.append(common + f"{launches} | {allk if allk is not None else '—'} | {mem} | "
                         f"{achieved:.1f} | {100 * achieved / peak:.2f} |")
        else:
            lines.append(common + f"{r['rss_peak_mib']:.1f} | {r['rss_baseline_mib']:.1f} | "
                         f"{r['rss_peak_mib'] - r['rss_baseline_mib']:.1f} | {achieved:.2f} | "
                         f"{100 * achieved / peak:.1f} |")
    return "\n".join(lines)


def table_layers(res):
    prof = res.get("profile") or {}
    if not prof:
        return "(no per-layer profile)"
    flops = {l["name"]: l["fwd_flops"] for l in res["flops"]["layers"]}
    batch = res["profile_batch"]
    paths = [p for p in ("reference", "kernel", "gpu", "pytorch") if p in prof]
    label = {"reference": "tinydl reference", "kernel": "tinydl kernels", "gpu": "tinydl GPU",
             "pytorch": "PyTorch"}
    head = "| layer | fwd MFLOP (batch) |"
    for p in paths:
        head += f" {label[p]} fwd ms | {label[p]} bwd ms |"
    mine = "kernel" if "kernel" in prof else ("gpu" if "gpu" in prof else None)
    if mine and "pytorch" in prof:
        head += f" {label[mine]} / PyTorch fwd | bwd |"
    if "reference" in prof and "kernel" in prof:
        head += " kernel speed-up vs reference (fwd+bwd) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    names = [n for n, _ in LAYER_ROWS] + ["adam"]
    tot = {p: [0.0, 0.0] for p in paths}
    for n in names:
        if n == "adam":
            line = "| Adam step (all params) | — |"
        else:
            line = f"| {n} | {flops.get(n, 0) * batch / 1e6:.1f} |"
        for p in paths:
            row = prof[p].get(n, {})
            if n == "adam":
                line += f" {_f(row.get('step_ms'), '{:.3f}')} (step) | — |"
                tot[p][0] += row.get("step_ms") or 0
            else:
                line += f" {_f(row.get('fwd_ms'), '{:.3f}')} | {_f(row.get('bwd_ms'), '{:.3f}')} |"
                tot[p][0] += row.get("fwd_ms") or 0
                tot[p][1] += row.get("bwd_ms") or 0
        if mine and "pytorch" in prof:
            a, b = prof[mine].get(n, {}), prof["pytorch"].get(n, {})
            if n == "adam":
                line += f" {_ratio(a.get('step_ms'), b.get('step_ms'))} | — |"
            else:
                line += f" {_ratio(a.get('fwd_ms'), b.get('fwd_ms'))} | {_ratio(a.get('bwd_ms'), b.get('bwd_ms'))} |"
        if "reference" in prof and "kernel" in prof:
            r, k = prof["reference"].get(n, {}), prof["kernel"].get(n, {})
            rt = (r.get("fwd_ms") or 0) + (r.get("bwd_ms") or 0) + (r.get("step_ms") or 0)
            kt = (k.get("fwd_ms") or 0) + (k.get("bwd_ms") or 0) + (k.get("step_ms") or 0)
            line += f" {_ratio(rt, kt)} |"
        lines.append(line)
    line = "| **sum of rows** | — |"
    for p in paths:
        line += f" {tot[p][0]:.3f} | {tot[p][1]:.3f} |"
    if mine and "pytorch" in prof:
        line += f" {_ratio(tot[mine][0], tot['pytorch'][0])} | {_ratio(tot[mine][1], tot['pytorch'][1])} |"
    if "reference" in prof and "kernel" in prof:
        line += f" {_ratio(sum(tot['reference']), sum(tot['kernel']))} |"
    lines.append(line)
    return "\n".join(lines)


def _ratio(a, b):
    return "—" if not a or not b else f"{a / b:.2f}x"


def table_compile(res):
    c = res.get("compile")
    if not c:
        return "(compile timing skipped)"
    cache = "NUMBA_CACHE_DIR" if res["args"]["device"] == "cpu" else "CUPY_CACHE_DIR / NUMBA_CACHE_DIR"
    lines = [f"| cache ({cache}) | import s | first step s | later step s | first − later s (compile or cache load) |",
             "|---|---|---|---|---|"]
    for k in ("cold", "warm"):
        r = c[k]
        lines.append(f"| {k} | {r['import_s']:.2f} | {r['first_step_s']:.2f} | {r['later_step_s']:.3f} | "
                     f"{r['first_step_s'] - r['later_step_s']:.2f} |")
    return "\n".join(lines)


def render(res):
    a = res["args"]
    fl = res["flops"]
    mm = res["matmul"]
    out = [f"# tinydl vs PyTorch: MNIST CNN training ({a['device'].upper()})", ""]
    e = res["environment"]
    out.append(f"{e['date']}; Python {e['python']}, NumPy {e['numpy']}, Numba {e['numba']}, PyTorch: "
               f"{res.get('torch_version') or e['torch']}; {e['cpu'] or 'CPU ?'} ({e['cpu_count']} cores), "
               f"threads {a['threads']}; 1-minute load average {_f(e.get('loadavg_start'), '{:.1f}')} at the "
               f"start, {_f(e.get('loadavg_end'), '{:.1f}')} at the end.")
    out.append(f"Command: `{res['command']}`")
    out.append(f"Random data of MNIST's shape (float32 28x28x1 in [0,1), labels 0..9); steps {a['steps']} x repeats "
               f"{a['repeats']} after {a['warmup']} warm-up steps; medians over repeats.")
    out.append("")
    out.append(f"FLOPs per image: forward {fl['fwd_flops_per_image']:,} ({fl['macs_per_image']:,} MACs x 2); "
               f"training (forward + backward ~ 3x forward) **{fl['train_flops_per_image']:,}** "
               f"({fl['train_flops_per_image'] / 1e6:.2f} MFLOP); without conv1's unneeded input gradient "
               f"{fl['train_flops_per_image_exact']:,}.")
    what = "cupy.matmul float32" if a["device"] == "gpu" else "NumPy float32 matmul"
    out.append(f"Reference FLOP/s: {what} {mm['n']}^3, median of {mm['reps']}: {mm['gflops']:.1f} GFLOP/s"
               + (f" (PyTorch's own matmul: {res['torch_matmul_gflops']:.1f} GFLOP/s)"
                  if res.get("torch_matmul_gflops") else "") + ".")
    out.append("")
    out.append("## Table 1: training throughput")
    out.append("")
    out.append(table_throughput(res))
    out.append("")
    out.append(f"## Table 2: per-layer forward / backward time, batch {res['profile_batch']} (median of "
               f"{a['profile_reps']})")
    out.append("")
    out.append(table_layers(res))
    if res.get("profile"):
        step_ms = {r["framework"]: 1e3 * r["batch"] / median(r["images_per_s"]) for r in res["train"]
                   if r["batch"] == res["profile_batch"]}
        out.append("")
        out.append("Measured full training step at this batch (Table 1): " + ", ".join(
            f"{k} {v:.2f} ms" for k, v in step_ms.items()) + ".")
    out.append("")
    if a["device"] == "cpu":
        out.append("## Table 3: training-loop overhead (tinydl)")
        out.append("")
        out.append("ms per step, median over repeats (min–max); each repeat times the four in turn over "
                   f"{a['steps']} steps (an epoch of {a['steps']} batches for the loops). Overhead = loop / bare "
                   "step − 1. nn modules: `tinydl.nn.Conv2d`/`Linear`/... NCHW with `F.cross_entropy` and "
                   "`optim.Adam`, the loop over `DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`; "
                   "keras model: `tinydl.keras.Sequential` compiled with Adam and "
                   "`sparse_categorical_crossentropy`, `fit(x, y, batch_size, epochs=1, verbose=0)`.")
        out.append("")
        out.append(table_loop(res))
        out.append("")
    out.append("## Numba / NVRTC compilation (fresh process, first training step at batch 32)")
    out.append("")
    out.append(table_compile(res))
    for n in res.get("notes", []):
        out.append("")
        out.append(f"Note: {n}")
    return "\n".join(out) + "\n"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-sizes", default=None, help="comma-separated (default 32,128; gpu: 128,512)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per repeat")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs; medians are reported")
    ap.add_argument("--threads", type=int, default=None, help="BLAS/torch threads (default: all cores)")
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--no-torch", action="store_true", help="measure tinydl alone")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="folder for the Markdown and JSON results")
    ap.add_argument("--profile-batch", type=int, default=None,
                    help="batch of the per-layer table (default 128 if measured, else the largest)")
    ap.add_argument("--profile-reps", type=int, default=10, help="reps per layer in the per-layer table")
    ap.add_argument("--skip-profile", action="store_true", help="no per-layer table")
    ap.add_argument("--skip-compile-timing", action="store_true", help="no cold/warm compile timing")
    ap.add_argument("--loop-batches", default="32,128",
                    help="batch sizes of the training-loop overhead table (CPU; tinydl alone)")
    ap.add_argument("--skip-loop", action="store_true", help="no training-loop overhead table")
    # internal: the worker subprocesses
    ap.add_argument("--_worker", choices=("train", "compile", "prime", "loop"), help=argparse.SUPPRESS)
    ap.add_argument("--_framework", choices=("tinydl", "pytorch"), help=argparse.SUPPRESS)
    ap.add_argument("--_batch", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--_profile", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_result", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.threads is None and not a._worker:
        a.threads = os.cpu_count()
    if a.batch_sizes is None:
        a.batch_sizes = "128,512" if a.device == "gpu" else "32,128"
    a.batch_list = [int(b) for b in str(a.batch_sizes).split(",") if b.strip()]
    a.loop_list = [int(b) for b in str(a.loop_batches).split(",") if b.strip()]
    if (not a.batch_list or min(a.batch_list + a.loop_list) < 1 or min(a.steps, a.repeats) < 1
            or a.warmup < 0):
        ap.error("batch sizes, --steps and --repeats must be positive, --warmup >= 0")
    return a


def worker_main(a):
    a.batch = a._batch
    a.profile = a._profile
    if a._worker in ("compile", "prime"):
        res = worker_compile(a)
    elif a._worker == "loop":
        res = worker_loop(a)
    elif a._framework == "pytorch":
        res = worker_torch(a)
    else:
        res = worker_tinydl(a)
    with open(a._result, "w") as f:
        json.dump(res, f)


def main(argv=None):
    a = parse_args(argv)
    if a._worker:
        return worker_main(a)
    # This process's own BLAS (the reference matmul) gets the same thread count as the workers;
    # NumPy is imported only after the environment is set.
    os.environ.update({k: v for k, v in thread_env(a.threads).items() if k.endswith("_THREADS")})
    command = "python bench/bench_cnn.py " + " ".join(sys.argv[1:] if argv is None else argv)
    notes = []
    if a.device == "gpu":
        try:
            import tinydl
            tinydl.backends.require_cupy()
        except Exception as e:
            print(f"--device gpu: the GPU backend is not usable here: {e}", file=sys.stderr)
            return 2
    torch_ok = importlib.util.find_spec("torch") is not None
    use_torch = torch_ok and not a.no_torch
    if not a.no_torch and not torch_ok:
        msg = ("PyTorch is not installed in this environment: measuring tinydl alone "
               "(install torch==2.13.0 in a separate venv, see bench/README.md)")
        print(msg)
        notes.append(msg)
    frameworks = ["tinydl"] + (["pytorch"] if use_torch else [])
    profile_batch = a.profile_batch or (128 if 128 in a.batch_list else max(a.batch_list))
    batches = sorted(set(a.batch_list))
    if not a.skip_profile and profile_batch not in batches:
        batches.append(profile_batch)  # measured too, so the profile has its full step to compare with

    t_start = time.perf_counter()
    res = {"command": command, "args": {k: v for k, v in vars(a).items() if not k.startswith("_")},
           "flops": model_flops(), "profile_batch": profile_batch, "notes": notes}
    res["environment"] = environment(a, torch_ok)
    fl = res["flops"]
    print(f"model FLOPs per image: forward {fl['fwd_flops_per_image']:,}, training (3x forward) "
          f"{fl['train_flops_per_image']:,} = {fl['train_flops_per_image'] / 1e6:.2f} MFLOP "
          f"(exact, without conv1's input gradient: {fl['train_flops_per_image_exact']:,})", flush=True)
    res["matmul"] = measure_gpu_matmul() if a.device == "gpu" else measure_matmul()
    print(f"reference matmul: {res['matmul']['gflops']:.1f} GFLOP/s", flush=True)

    # Compile (or load) tinydl's kernels once into the normal cache, so that no worker below
    # pays Numba / NVRTC compilation in its warm-up or in its peak memory.
    run_worker(a, "prime")
    res["train"], res["profile"] = [], {}
    for b in batches:
        for fw in frameworks:
            prof = (not a.skip_profile) and b == profile_batch
            r = run_worker(a, "train", fw, b, profile=prof)
            if "profile" in r:
                res["profile"].update(r.pop("profile"))
            if r.get("torch_matmul_gflops"):
                res["torch_matmul_gflops"] = r["torch_matmul_gflops"]
            if r.get("torch_version"):
                res["torch_version"] = r["torch_version"]
            res["train"].append(r)
            print(f"  {fw:8s} batch {b:4d}: {median(r['images_per_s']):10,.0f} images/s "
                  f"({r['worker_wall_s']:.1f} s)", flush=True)
    res["train"] = [r for r in res["train"] if r["batch"] in a.batch_list or r["batch"] == profile_batch]
    res["loop"] = []
    if not a.skip_loop and a.device == "cpu":
        for b in a.loop_list:
            r = run_worker(a, "loop", "tinydl", b)
            res["loop"].append(r)
            print(f"  loop overhead batch {b:4d}: DataLoader loop "
                  f"{loop_overhead(r, 'torch_loop', 'torch_bare'):+.1f}%, fit "
                  f"{loop_overhead(r, 'keras_fit', 'keras_bare'):+.1f}% over the bare step "
                  f"({r['worker_wall_s']:.1f} s)", flush=True)
    if not a.skip_compile_timing:
        res["compile"] = compile_timing(a)
        c = res["compile"]
        print(f"compile: cold first step {c['cold']['first_step_s']:.2f} s, warm first step "
              f"{c['warm']['first_step_s']:.2f} s, later steps {c['warm']['later_step_s']:.3f} s", flush=True)
    res["total_wall_s"] = time.perf_counter() - t_start
    res["environment"]["loadavg_end"] = _loadavg()
    res["notes"] += noise_notes(res)

    md = render(res)
    print()
    print(md)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"bench_cnn_{a.device}"
    (out / f"{stem}.md").write_text(md)
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(f"wrote {out / (stem + '.md')} and {out / (stem + '.json')} (total {res['total_wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
