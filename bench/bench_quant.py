"""float32 vs int8 inference of the seed CNN: tinydl's post-training int8 (and QAT) next to
PyTorch's dynamic int8 quantization of the same model, in the same run.

    python bench/bench_quant.py [--threads 2] [--train-limit 60000] [--no-torch] [--quick]

1. A tinydl worker process trains the seed CNN (Keras API, Adam, batch 32) on MNIST, measures
   test accuracy, file size and inference throughput (batch 256, median of ``--repeats`` passes
   over the test set) of the float32 model, of its post-training int8 version (per-channel weight
   scales, activation scales calibrated on ``--calibration`` training images, the Numba int8
   kernels with int32 accumulation), and of an int8 model after ``--qat-steps`` steps of
   quantization-aware training (fake quantization, straight-through estimator). It writes the
   float32 weights and the test set to a temporary folder.
2. A PyTorch worker (its own process, its own interpreter: ``--torch-python``, by default
   /work/benchvenv/bin/python when it exists) loads the same weights into the same network in
   NCHW, measures float32, then ``torch.ao.quantization.quantize_dynamic(model, {nn.Linear},
   torch.qint8)``: PyTorch's dynamic quantization covers Linear layers only, so its convolutions
   stay float32 (that is what the API does; static conv quantization needs a different workflow).
   Sizes are the bytes of ``torch.save(state_dict)``.

Both workers get ``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS = --threads`` (and ``torch.set_num_threads``).
Without PyTorch (or with ``--no-torch``) only tinydl is measured.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_TORCH_PYTHON = "/work/benchvenv/bin/python"


def thread_env(threads):
    env = dict(os.environ)
    if threads:
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[v] = str(threads)
    return env


def _median_rate(fn, n_images, repeats):
    fn()  # warm-up (and Numba compilation / cache load)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n_images / statistics.median(times), min(times), max(times)


# ----------------------------------------------------------------------------- tinydl worker

def tinydl_worker(a, tmp):
    import numpy as np
    import tinydl
    from tinydl import nn, optim
    from tinydl.compress import load_quantized, prepare_qat, quantize_model, save_quantized, strip_qat
    from tinydl.keras import layers, models

    (x_train, y_train), (x_test, y_test) = tinydl.keras.datasets.mnist.load_data()
    x_train = x_train[:a.train_limit].astype("float32")[..., None] / 255
    y_train = y_train[:a.train_limit]
    x_test = x_test[:a.test_limit].astype("float32")[..., None] / 255
    y_test = y_test[:a.test_limit]
    tinydl.manual_seed(a.seed)
    model = models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(x_train, y_train, epochs=a.epochs, batch_size=32, verbose=0)
    train_s = time.perf_counter() - t
    model.eval()

    def run(m):
        with tinydl.no_grad():
            return np.concatenate([m(tinydl.Tensor(x_test[s:s + 256])).detach().numpy() for s in range(0, len(x_test), 256)])

    out = {"framework": "tinydl", "train_images": len(x_train), "train_s": train_s, "rows": []}
    f32_path = os.path.join(tmp, "float32.npz")
    model.save_weights(f32_path)
    pred = run(model)
    rate = _median_rate(lambda: run(model), len(x_test), a.repeats)
    out["rows"].append({"model": "float32", "accuracy": float((pred.argmax(1) == y_test).mean()),
                        "bytes": os.path.getsize(f32_path), "rate": rate})

    calib = x_train[np.random.default_rng(a.seed).permutation(len(x_train))[:a.calibration]]
    t = time.perf_counter()
    q = quantize_model(model, calib)
    quant_s = time.perf_counter() - t
    q_path = os.path.join(tmp, "int8.npz")
    save_quantized(q_path, q)
    q = load_quantized(q_path)  # measure the model as it is loaded from its file
    qpred = run(q)
    rate = _median_rate(lambda: run(q), len(x_test), a.repeats)
    out["rows"].append({"model": f"int8 post-training ({a.calibration} calibration images)",
                        "accuracy": float((qpred.argmax(1) == y_test).mean()), "bytes": os.path.getsize(q_path),
                        "rate": rate, "agreement": float((qpred.argmax(1) == pred.argmax(1)).mean()),
                        "quantize_s": quant_s})
    if a.qat_steps:
        qat = prepare_qat(model)
        opt = optim.Adam(qat.parameters(), lr=1e-4)
        rng = np.random.default_rng(a.seed + 1)
        qat.train()
        for _ in range(a.qat_steps):
            idx = rng.integers(0, len(x_train), 32)
            opt.zero_grad()
            nn.losses.sparse_categorical_crossentropy(y_train[idx], qat(tinydl.Tensor(x_train[idx]))).backward()
            opt.step()
        strip_qat(qat)
        qq = quantize_model(qat, calib)
        qqpred = run(qq)
        out["rows"].append({"model": f"int8 after {a.qat_steps} QAT steps",
                            "accuracy": float((qqpred.argmax(1) == y_test).mean()), "bytes": None,
                            "rate": None})
    np.savez(os.path.join(tmp, "test.npz"), x=x_test, y=y_test)
    return out


# ----------------------------------------------------------------------------- PyTorch worker

def torch_worker(a, tmp):
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(a.threads or os.cpu_count())
    z = np.load(os.path.join(tmp, "float32.npz"), allow_pickle=False)
    w = {k: z[k] for k in z.files if k != "__meta__"}
    t = np.load(os.path.join(tmp, "test.npz"), allow_pickle=False)
    x = torch.from_numpy(np.ascontiguousarray(t["x"].transpose(0, 3, 1, 2)))
    y = t["y"]
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(576, 64),
                          nn.ReLU(), nn.Linear(64, 10))
    keys = sorted({k.rsplit(".", 1)[0] for k in w}, key=lambda s: int(s.split(".")[0]))
    convs, denses = [k for k in keys if w[f"{k}.kernel"].ndim == 4], [k for k in keys if w[f"{k}.kernel"].ndim == 2]
    with torch.no_grad():
        for layer, k in zip([m for m in model if isinstance(m, nn.Conv2d)], convs):
            layer.weight.copy_(torch.from_numpy(w[f"{k}.kernel"].transpose(3, 2, 0, 1).copy()))
            layer.bias.copy_(torch.from_numpy(w[f"{k}.bias"]))
        d1, d2 = [m for m in model if isinstance(m, nn.Linear)]
        k1 = w[f"{denses[0]}.kernel"].reshape(3, 3, 64, 64).transpose(2, 0, 1, 3).reshape(576, 64)  # HWC -> CHW rows
        d1.weight.copy_(torch.from_numpy(k1.T.copy()))
        d1.bias.copy_(torch.from_numpy(w[f"{denses[0]}.bias"]))
        d2.weight.copy_(torch.from_numpy(w[f"{denses[1]}.kernel"].T.copy()))
        d2.bias.copy_(torch.from_numpy(w[f"{denses[1]}.bias"]))
    model.eval()

    def run(m):
        with torch.inference_mode():
            return torch.cat([m(x[s:s + 256]) for s in range(0, len(x), 256)]).detach().numpy()

    def size(m):
        path = os.path.join(tmp, "torch_state.pt")
        torch.save(m.state_dict(), path)
        return os.path.getsize(path)

    out = {"framework": "PyTorch " + torch.__version__, "rows": []}
    pred = run(model)
    out["rows"].append({"model": "float32", "accuracy": float((pred.argmax(1) == y).mean()), "bytes": size(model),
                        "rate": _median_rate(lambda: run(model), len(x), a.repeats)})
    qmodel = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    qpred = run(qmodel)
    out["rows"].append({"model": "dynamic int8 (Linear layers only)", "accuracy": float((qpred.argmax(1) == y).mean()),
                        "bytes": size(qmodel), "rate": _median_rate(lambda: run(qmodel), len(x), a.repeats),
                        "agreement": float((qpred.argmax(1) == pred.argmax(1)).mean())})
    return out


# ----------------------------------------------------------------------------- the parent

def run_worker(a, kind, tmp, python):
    result = os.path.join(tmp, f"{kind}.json")
    cmd = [python, str(HERE), "--_worker", kind, "--_tmp", tmp, "--_result", result,
           "--train-limit", str(a.train_limit), "--epochs", str(a.epochs), "--test-limit", str(a.test_limit),
           "--calibration", str(a.calibration), "--qat-steps", str(a.qat_steps), "--repeats", str(a.repeats),
           "--seed", str(a.seed)]
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    p = subprocess.run(cmd, env=thread_env(a.threads), capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(result):
        sys.stderr.write(p.stdout + p.stderr)
        raise RuntimeError(f"the {kind} worker failed (exit {p.returncode})")
    with open(result) as f:
        return json.load(f)


def torch_python(a):
    if a.no_torch:
        return None
    for py in ([a.torch_python] if a.torch_python else []) + [sys.executable, DEFAULT_TORCH_PYTHON]:
        if py and os.path.exists(py) and subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None, help="threads for each framework (default: all cores)")
    p.add_argument("--train-limit", type=int, default=60000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--test-limit", type=int, default=10000)
    p.add_argument("--calibration", type=int, default=500)
    p.add_argument("--qat-steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--torch-python", default=None, help="the interpreter that has PyTorch")
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="a small run for the tests (< 1 min)")
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_tmp", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_result", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.quick:
        a.train_limit, a.test_limit, a.calibration, a.qat_steps, a.repeats = 2000, 1000, 200, 10, 2
    if a._worker:
        out = (tinydl_worker if a._worker == "tinydl" else torch_worker)(a, a._tmp)
        with open(a._result, "w") as f:
            json.dump(out, f)
        return out

    tmp = tempfile.mkdtemp(prefix="bench_quant_")
    try:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        results = [run_worker(a, "tinydl", tmp, sys.executable)]
        py = torch_python(a)
        if py:
            results.append(run_worker(a, "torch", tmp, py))
        else:
            print("PyTorch not measured (--no-torch, or no interpreter with torch found)")
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    tiny = results[0]
    print(f"seed CNN trained by tinydl on {tiny['train_images']} MNIST images for {a.epochs} epoch(s) "
          f"({tiny['train_s']:.0f} s); {a.test_limit} test images; batch 256; threads {a.threads or os.cpu_count()}; "
          f"load average {load:.1f} before, {load_after:.1f} after\n")
    print("| framework | model | test accuracy | file size (KiB) | images/s (median) | min-max images/s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        for row in r["rows"]:
            rate = row["rate"]
            size = f"{row['bytes'] / 1024:.1f}" if row["bytes"] else "—"
            rates = (f"{rate[0]:,.0f}", f"{a.test_limit / rate[2]:,.0f}–{a.test_limit / rate[1]:,.0f}") if rate \
                else ("—", "—")
            print(f"| {r['framework']} | {row['model']} | {row['accuracy']:.4f} | {size} | {rates[0]} | {rates[1]} |")
    f32, i8 = tiny["rows"][0], tiny["rows"][1]
    print(f"\ntinydl int8 vs float32: accuracy {100 * (i8['accuracy'] - f32['accuracy']):+.2f} points "
          f"(target: within 0.3: {'met' if abs(i8['accuracy'] - f32['accuracy']) <= 0.003 else 'NOT met'}), "
          f"{f32['bytes'] / i8['bytes']:.2f}x smaller file, throughput {i8['rate'][0] / f32['rate'][0]:.2f}x "
          f"(target: faster than float32: {'met' if i8['rate'][0] > f32['rate'][0] else 'NOT met'}); "
          f"predictions agree on {100 * i8['agreement']:.2f}% of the test images")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"args": vars(a), "load": [load, load_after], "results": results}, f, indent=1)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
