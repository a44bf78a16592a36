"""tinydl.distributed, DistributedDataParallel and the fault behaviour, on 2 MPI processes.

Each test launches a program from tests/distributed_programs/ with ``mpiexec -n 2`` (one thread
per rank) and checks its output, exit status or saved parameters.
"""
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import tinydl
from tinydl import optim

PROGRAMS = pathlib.Path(__file__).parent / "distributed_programs"
pytest.importorskip("mpi4py", reason="the distributed extra is not installed: pip install -e '.[dev,distributed]'")


def mpiexec():
    here = pathlib.Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpi4py is installed but no mpiexec was found (pip install mpich)")
    return found


def launch(program, *args, n=2, timeout=120, launcher_args=()):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [mpiexec(), *launcher_args, "-n", str(n), sys.executable, str(PROGRAMS / program), *map(str, args)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def test_collectives_match_numpy_for_every_op_and_dtype():
    rc, out, _ = launch("collectives.py")
    assert rc == 0, out
    for r in range(2):
        assert f"rank {r} of 2: all 110 checks passed" in out, out


def _load_program(name):
    spec = importlib.util.spec_from_file_location(name, PROGRAMS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference(dtype, steps):
    """One process, batch 32, the same model, data and optimizer."""
    prog = _load_program("ddp_train")
    tinydl.manual_seed(0)
    model = prog.make_model(np.dtype(dtype))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    x, y = prog.make_data()
    x, y = x.astype(dtype), y.astype(dtype)
    for step in range(steps):
        sl = slice(step * 32, (step + 1) * 32)
        opt.zero_grad()
        prog.mse(model(tinydl.Tensor(x[sl])), y[sl]).backward()
        opt.step()
    return model.state_dict()


# 2 ranks x batch 16 against 1 process x batch 32 after 5 Adam steps. float64: the two differ only
# in summation order (rank sums then the all-reduce), so they agree to 1e-10 relative; float32
# to 2e-5 (Adam divides by sqrt(v), which amplifies rounding in small gradients).
@pytest.mark.parametrize("dtype,cap_mb,accumulate,rtol", [
    ("float64", 25, 1, 1e-10),      # one bucket (everything fits in 25 MB)
    ("float64", 0, 1, 1e-10),       # no bucketing: one all-reduce per parameter
    ("float64", 0.0005, 2, 1e-10),  # small buckets, gradient accumulation under no_sync()
    ("float32", 25, 1, 2e-5),
])
def test_ddp_two_ranks_equal_one_process_with_twice_the_batch(tmp_path, dtype, cap_mb, accumulate, rtol):
    steps = 5
    out_file = tmp_path / "params.npz"
    rc, out, _ = launch("ddp_train.py", out_file, dtype, cap_mb, accumulate, steps)
    assert rc == 0, out
    got = dict(np.load(out_file))
    buckets = got.pop("buckets")
    want = _reference(dtype, steps)
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=rtol * 1e-2, err_msg=k)
    if cap_mb == 25:
        assert len(buckets) == 1, buckets
    elif cap_mb == 0:
        assert len(buckets) == len(want), buckets
    else:
        assert 1 < len(buckets) < len(want), buckets


@pytest.mark.parametrize("kind", ["shape", "extra"])
def test_mismatched_architecture_fails_on_every_rank(kind):
    rc, out, _ = launch("mismatch.py", kind)
    assert rc != 0, out
    for r in range(2):
        assert f"rank {r} error: DistributedDataParallel: the model on rank 1 differs from the model on rank 0" in out, out
    assert ("'0.weight' has shape (8, 4)" if kind == "shape" else "'3.weight' is missing on rank 0") in out


def test_a_killed_rank_stops_the_other_within_the_timeout():
    rc, out, elapsed = launch("fault.py", "kill", 5, timeout=60)
    assert rc != 0, out
    assert "failing (kill) at step 3" in out
    assert "finished without noticing" not in out
    assert elapsed < 5 + 15, (elapsed, out)


def test_a_rank_that_raises_aborts_every_rank():
    rc, out, elapsed = launch("fault.py", "raise", 5, timeout=60)
    if rc != 0 and not out.strip():
        # Seen once in CI on a loaded machine: the launcher tore the job down before forwarding a
        # single line (not even its own abort notice). Say so and launch once more; every assertion
        # below still applies to the second run.
        print(f"mpiexec exited {rc} with no output after {elapsed:.1f} s; launching again")
        rc, out, elapsed = launch("fault.py", "raise", 5, timeout=60)
    assert rc != 0, out
    assert "ValueError: a deliberate failure" in out
    assert "rank 1 of 2 raised ValueError; aborting every rank" in out
    assert "finished without noticing" not in out
    assert elapsed < 5 + 15, (elapsed, out)


def test_a_rank_that_stops_responding_makes_the_other_time_out():
    # the stuck rank stays alive, so only the collective's deadline can end the run
    rc, out, elapsed = launch("fault.py", "hang", 2, timeout=60)
    assert rc != 0, out
    assert "DistributedTimeoutError: tinydl.distributed: all_reduce on rank 0 of 2" in out, out
    assert "did not complete within 2 s" in out
    assert elapsed < 2 + 15, (elapsed, out)


def test_keras_fit_under_the_strategy_equals_single_process_fit(tmp_path):
    import json
    rc, out, _ = launch("keras_fit.py", tmp_path)
    assert rc == 0, out
    prog = _load_program("keras_fit")
    tinydl.manual_seed(0)
    model = prog.make_model()
    x, y = prog.make_data()
    want = model.fit(x, y, batch_size=24, epochs=3, verbose=0, shuffle=False).history
    got = np.load(tmp_path / "final.npz")
    for i, w in enumerate(model.get_weights()):  # float32, 15 Adam steps: summation order only
        np.testing.assert_allclose(got[f"arr_{i}"], w, rtol=1e-4, atol=1e-6)
    h0 = json.loads((tmp_path / "history_0.json").read_text())
    h1 = json.loads((tmp_path / "history_1.json").read_text())
    assert h0 == h1  # global metrics: both ranks log the same numbers
    np.testing.assert_allclose(h0["loss"], want["loss"], rtol=1e-5)
    np.testing.assert_allclose(h0["accuracy"], want["accuracy"], rtol=1e-6)
    # rank 0 alone prints progress and writes the checkpoint and the CSV log
    assert out.count("Epoch 3/3") == 1
    assert (tmp_path / "ckpt_0.npz").exists() and not (tmp_path / "ckpt_1.npz").exists()
    assert (tmp_path / "log_0.csv").exists() and not (tmp_path / "log_1.csv").exists()


EXAMPLES = PROGRAMS.parents[1] / "examples"


@pytest.mark.slow
@pytest.mark.parametrize("example,expect", [
    ("mnist_ddp.py", "test accuracy"), ("mnist_keras_distributed.py", "test accuracy")])
def test_the_mpi_examples_run(tmp_path, example, expect):
    if not os.environ.get("TINYDL_DATA"):
        pytest.skip("TINYDL_DATA is not set (the examples train on MNIST)")
    ckpt = tmp_path / "ckpt.npz"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    cmd = [mpiexec(), "-n", "2", sys.executable, str(EXAMPLES / example), "--epochs", "1",
           "--limit", "1280", "--test-limit", "1000", "--checkpoint", str(ckpt)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count(expect) == 1, p.stdout  # rank 0 alone reports
    assert ckpt.exists()


@pytest.mark.slow
def test_bench_ddp_smallest_mode_runs(tmp_path):
    out = tmp_path / "bench_ddp.json"
    bench = PROGRAMS.parents[1] / "bench" / "bench_ddp.py"
    p = subprocess.run([sys.executable, str(bench), "--which", "cnn", "--steps", "1", "--warmup", "1",
                        "--repeats", "1", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    import json
    results = json.loads(out.read_text())["results"]
    assert [r["procs"] for r in results] == [1, 2]
    assert all(r["throughput"] > 0 for r in results) and results[1]["buckets"]
    model = subprocess.run([sys.executable, str(bench.parent / "ddp_scaling_model.py"), str(out)],
                           capture_output=True, text=True, timeout=60)
    assert model.returncode == 0 and "| seed CNN" in model.stdout, model.stdout + model.stderr


def test_errors_before_init_and_for_unsupported_arguments():
    import tinydl.distributed as dist
    from tinydl import nn
    from tinydl.nn.parallel import DistributedDataParallel
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(tinydl.zeros(2))
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="has not created its parameters yet"):
        DistributedDataParallel(nn.Dense(2))
    with pytest.raises(NotImplementedError, match="backend 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(NotImplementedError, match="init_method"):
        dist.init_process_group("mpi", init_method="tcp://127.0.0.1:23456")
    assert not dist.is_initialized()


def test_nccl_without_cupy_says_what_is_missing():
    import importlib.util
    import tinydl.distributed as dist
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here, so the missing-CuPy error cannot be shown")
    with pytest.raises(RuntimeError, match="backend='nccl' needs CuPy"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized() and not dist.is_nccl_available()
