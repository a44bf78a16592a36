"""Smoke test of bench/bench_cnn.py in its smallest mode (tinydl alone, a few steps, batch 8).

Checks that the benchmark runs end to end in subprocesses and writes its Markdown and JSON
results with positive throughput; the numbers themselves are not checked (the machine is noisy).
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "bench_cnn.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_cnn", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_model_flops_match_the_issue():
    flops = _load_bench().model_flops()
    assert flops["macs_per_image"] == 2_794_240
    assert flops["train_flops_per_image"] == 3 * 2 * 2_794_240 == 16_765_440  # "~16.8 MFLOP"
    assert flops["train_flops_per_image_exact"] < flops["train_flops_per_image"]
    assert [layer["name"] for layer in flops["layers"]][0] == "conv1"


def test_bench_smallest_mode_writes_results(tmp_path):
    cmd = [sys.executable, str(BENCH), "--steps", "2", "--warmup", "1", "--repeats", "1",
           "--batch-sizes", "8", "--loop-batches", "8", "--no-torch", "--skip-compile-timing",
           "--out", str(tmp_path)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]

    md = tmp_path / "bench_cnn_cpu.md"
    js = tmp_path / "bench_cnn_cpu.json"
    assert md.is_file() and js.is_file(), sorted(tmp_path.iterdir())

    res = json.loads(js.read_text())
    rows = [r for r in res["train"] if r["framework"] == "tinydl" and r["batch"] == 8]
    assert len(rows) == 1
    assert rows[0]["images_per_s"] and all(v > 0 for v in rows[0]["images_per_s"])
    assert rows[0]["rss_peak_mib"] >= rows[0]["rss_baseline_mib"] > 0
    assert res["flops"]["train_flops_per_image"] == 16_765_440
    assert res["matmul"]["gflops"] > 0
    assert {"reference", "kernel"} <= set(res["profile"])

    text = md.read_text()
    assert "images/s" in text and "| tinydl | 8 |" in text
    line = next(l for l in text.splitlines() if l.startswith("| tinydl | 8 |"))
    ips = float(line.split("|")[3].replace(",", ""))
    assert ips > 0
    assert "Table 2" in text and "| conv2 |" in text

    # Table 3: the training loops' overhead over the bare step, four timings per repeat
    (loop,) = res["loop"]
    assert loop["batch"] == 8
    assert set(loop["ms_per_step"]) == {"torch_bare", "torch_loop", "keras_bare", "keras_fit"}
    assert all(len(v) == 1 and v[0] > 0 for v in loop["ms_per_step"].values())
    assert "Table 3" in text and "fit overhead" in text
    assert any(l.startswith("| 8 |") and l.count("%") == 2 for l in text.splitlines())


def test_bench_predict_smallest_mode(tmp_path):
    """bench_predict.py end to end in its smallest mode (tinydl alone), with --out."""
    cmd = [sys.executable, str(ROOT / "bench" / "bench_predict.py"), "--batch-sizes", "2", "--steps", "1",
           "--repeats", "1", "--threads", "1", "--no-torch", "--out", str(tmp_path)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = json.loads((tmp_path / "bench_predict_cpu.json").read_text())
    (row,) = res["rows"]
    assert row["framework"] == "tinydl" and row["batch"] == 2 and row["images_per_s"][0] > 0
    line = next(l for l in p.stdout.splitlines() if l.startswith("| 2 |"))
    assert float(line.split("|")[2].replace(",", "")) > 0 and line.rstrip().endswith("— |")  # no PyTorch: no ratio
