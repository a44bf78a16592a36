"""Inference throughput of the seed CNN: tinydl's Keras ``predict`` vs PyTorch in ``inference_mode``.

    python bench/bench_predict.py [--batch-sizes 1,32,256] [--steps 20] [--repeats 5] [--threads T]
                                  [--no-torch] [--torch-python PATH] [--out DIR]

The model is bench_cnn.py's seed CNN with random weights. tinydl: the ``tinydl.keras.Sequential``
(channels-last input, softmax output) and ``model.predict(x, batch_size=B, verbose=0)``, which
returns the probabilities as one NumPy array. PyTorch: the same architecture as a PyTorch user
writes it, ``model.eval()``, and under ``torch.inference_mode()`` each batch's
``torch.softmax(model(batch), 1)`` as NumPy, concatenated: the same work and the same result type.

Each timed run predicts ``max(B * steps, 256)`` random images of MNIST's shape (made before
timing); images/s is the median over ``--repeats`` runs after one untimed run. Each
(framework, batch size) runs in its own fresh process with ``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS``
set to ``--threads``; the tinydl worker imports this checkout's tinydl. PyTorch is imported only
in its worker, run by ``--torch-python`` (default: this interpreter), so it can live in a separate
virtual environment (see bench/README.md). Nothing is written unless ``--out`` is given.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_cnn as cnn  # noqa: E402  (the model definitions and the process helpers)

MIN_IMAGES = 256


def images_per_run(batch, steps):
    return max(batch * steps, MIN_IMAGES)


def _time_runs(predict, n, repeats):
    predict()
    ips = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict()
        ips.append(n / (time.perf_counter() - t0))
    return ips


def worker_tinydl(a):
    import numpy as np
    import tinydl
    from tinydl.backends import numba_cpu  # noqa: F401
    tinydl.manual_seed(0)
    model = cnn._tinydl_keras_model()
    n = images_per_run(a.batch, a.steps)
    x = np.random.default_rng(1).random((n,) + cnn.IMAGE_HWC, dtype=np.float32)

    def predict():
        return model.predict(x, batch_size=a.batch, verbose=0)
    out = predict()
    assert out.shape == (n, cnn.NUM_CLASSES), out.shape
    return {"framework": "tinydl", "images_per_s": _time_runs(predict, n, a.repeats)}


def worker_torch(a):
    import numpy as np
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = cnn._torch_model(torch).eval()
    n = images_per_run(a.batch, a.steps)
    x = np.random.default_rng(1).random((n, 1) + cnn.IMAGE_HWC[:2], dtype=np.float32)
    b = a.batch

    def predict():
        with torch.inference_mode():
            return np.concatenate([torch.softmax(model(torch.from_numpy(x[i:i + b])), 1).numpy()
                                   for i in range(0, n, b)])
    return {"framework": "pytorch", "images_per_s": _time_runs(predict, n, a.repeats),
            "torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def run_worker(a, framework, batch):
    python = a.torch_python if framework == "pytorch" else sys.executable
    env = cnn.thread_env(a.threads)
    if framework == "tinydl":  # this checkout's tinydl, whatever the interpreter has installed
        env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        result = os.path.join(tmp, "result.json")
        cmd = [python, str(Path(__file__).resolve()), "--_worker", framework, "--_batch", str(batch),
               "--_result", result, "--steps", str(a.steps), "--repeats", str(a.repeats)]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(result):
            sys.stderr.write(p.stdout + p.stderr)
            raise RuntimeError(f"worker {framework}/batch {batch} failed (exit {p.returncode})")
        with open(result) as f:
            out = json.load(f)
    out["batch"] = batch
    return out


def table(rows):
    by = {(r["framework"], r["batch"]): r["images_per_s"] for r in rows}
    lines = ["| batch | tinydl images/s (median) | min–max | PyTorch images/s (median) | min–max | "
             "ratio tinydl/PyTorch |", "|---|---|---|---|---|---|"]
    for b in sorted({r["batch"] for r in rows}):
        t, p = by.get(("tinydl", b)), by.get(("pytorch", b))

        def cells(v):
            return (f"{cnn.median(v):,.0f} | {min(v):,.0f}–{max(v):,.0f}" if v else "— | —")
        ratio = f"{cnn.median(t) / cnn.median(p):.2f}" if t and p else "—"
        lines.append(f"| {b} | {cells(t)} | {cells(p)} | {ratio} |")
    return "\n".join(lines)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-sizes", default="1,32,256")
    ap.add_argument("--steps", type=int, default=20, help=f"batches per timed run (at least {MIN_IMAGES} images)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs; medians are reported")
    ap.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    ap.add_argument("--no-torch", action="store_true", help="measure tinydl alone")
    ap.add_argument("--torch-python", default=sys.executable, help="the interpreter that has torch")
    ap.add_argument("--out", default=None, help="folder for bench_predict_cpu.md / .json (default: print only)")
    ap.add_argument("--_worker", choices=("tinydl", "pytorch"), help=argparse.SUPPRESS)
    ap.add_argument("--_batch", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--_result", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.threads is None and not a._worker:
        a.threads = os.cpu_count()
    a.batch_list = [int(b) for b in a.batch_sizes.split(",") if b.strip()]
    if not a.batch_list or min(a.batch_list) < 1 or min(a.steps, a.repeats) < 1:
        ap.error("batch sizes, --steps and --repeats must be positive")
    return a


def main(argv=None):
    a = parse_args(argv)
    if a._worker:
        a.batch = a._batch
        res = worker_torch(a) if a._worker == "pytorch" else worker_tinydl(a)
        with open(a._result, "w") as f:
            json.dump(res, f)
        return 0
    frameworks = ["tinydl"]
    notes = []
    if not a.no_torch:
        probe = subprocess.run([a.torch_python, "-c", "import torch"], capture_output=True)
        if probe.returncode == 0:
            frameworks.append("pytorch")
        else:
            notes.append(f"PyTorch is not importable by {a.torch_python}: tinydl alone "
                         "(pass --torch-python, see bench/README.md)")
            print(notes[-1])
    command = "python bench/bench_predict.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rows = []
    for b in a.batch_list:
        for fw in frameworks:
            r = run_worker(a, fw, b)
            rows.append(r)
            print(f"  {fw:8s} batch {b:4d}: {cnn.median(r['images_per_s']):10,.0f} images/s", flush=True)
    env = cnn.environment(argparse.Namespace(threads=a.threads, device="cpu", no_torch=a.no_torch),
                          "pytorch" in frameworks)
    torch_version = next((r["torch_version"] for r in rows if r.get("torch_version")), None)
    md = "\n".join([
        "# tinydl vs PyTorch: seed CNN inference (CPU)", "",
        f"{env['date']}; Python {env['python']}, NumPy {env['numpy']}, Numba {env['numba']}, PyTorch "
        f"{torch_version or 'not measured'}; {env['cpu'] or 'CPU ?'} ({env['cpu_count']} cores), threads "
        f"{a.threads}; 1-minute load average {cnn._f(env.get('loadavg_start'))} at the start, "
        f"{cnn._f(cnn._loadavg())} at the end.",
        f"Command: `{command}`",
        f"tinydl `model.predict(x, batch_size=B, verbose=0)` vs PyTorch `softmax(model(batch))` in "
        f"`torch.inference_mode()`; each run max(B x {a.steps}, {MIN_IMAGES}) images; median of {a.repeats} runs.",
        "", table(rows)] + [f"\nNote: {n}" for n in notes]) + "\n"
    print()
    print(md)
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench_predict_cpu.md").write_text(md)
        (out / "bench_predict_cpu.json").write_text(json.dumps(
            {"command": command, "args": {k: v for k, v in vars(a).items() if not k.startswith("_")},
             "environment": env, "rows": rows, "notes": notes}, indent=1, default=str) + "\n")
        print(f"wrote {out / 'bench_predict_cpu.md'} and {out / 'bench_predict_cpu.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
