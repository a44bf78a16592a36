"""The CUDA kernel provider ``tinydl.backends.cuda`` and its sources ``kernels/cuda/*.cu``.

Part (a) runs everywhere (CI included, no GPU): every ``.cu`` file compiles with ``nvcc`` exactly
as CuPy will compile it (the text ``kernel_source`` returns), every kernel name the Python wrapper
uses is defined in the sources, and the provider has the reference's interface.

Part (b) is marked ``gpu`` and needs CuPy and a CUDA device (skipped with the reason otherwise):
every provider function against the NumPy reference, the fused optimizer steps against a plain
NumPy formula, and the launch counter.
"""
import ast
import importlib.resources
import inspect
import re
import shutil
import subprocess

import numpy as np
import pytest

from tinydl.backends import cuda as gpu

CUDA_PKG = "tinydl.kernels.cuda"
CU_STEMS = sorted(p.name[:-3] for p in importlib.resources.files(CUDA_PKG).iterdir()
                  if p.name.endswith(".cu"))
EXTERN_C = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(')

REFERENCE_INTERFACE = (
    "conv2d_forward", "conv2d_backward", "maxpool2d_forward", "maxpool2d_backward",
    "avgpool2d_forward", "avgpool2d_backward", "bias_act_forward", "bias_act_backward",
    "softmax_xent_forward", "softmax_xent_backward",
)


def defined_kernels(stem):
    return set(EXTERN_C.findall(gpu.raw_source(stem)))


# ============================================================================ (a) no GPU needed


def test_every_listed_source_exists():
    assert gpu.COMMON in CU_STEMS
    missing = set(gpu.KERNELS) - set(CU_STEMS)
    assert not missing, f"kernels/cuda/ lacks {sorted(missing)}"


@pytest.mark.parametrize("stem", CU_STEMS)
def test_sources_need_no_headers(stem):
    # CuPy compiles with NVRTC, which ships no standard headers: no #include at all.
    src = gpu.raw_source(stem)
    assert not re.search(r"^\s*#\s*include", src, re.M), f"{stem}.cu has an #include"


@pytest.mark.parametrize("stem", CU_STEMS)
def test_source_compiles_with_nvcc(stem, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not on PATH: cannot compile the CUDA sources here")
    src = tmp_path / f"{stem}.cu"
    src.write_text(gpu.kernel_source(stem))  # the exact text cupy.RawModule compiles
    cubin = tmp_path / f"{stem}.cubin"
    cmd = [nvcc, "-std=c++17", "--cubin", "-arch=sm_80", "-o", str(cubin), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}"
    binary = cubin.read_bytes()
    names = defined_kernels(stem) | set(gpu.kernel_names(stem) if stem in gpu.KERNELS else ())
    absent = sorted(n for n in names if n.encode() not in binary)
    assert not absent, f"kernels missing from the compiled {stem}.cubin: {absent}"


@pytest.mark.parametrize("stem", sorted(gpu.KERNELS))
def test_wrapper_kernel_names_are_defined(stem):
    missing = set(gpu.kernel_names(stem)) - defined_kernels(stem)
    assert not missing, f"{stem}.cu does not define {sorted(missing)}"


def test_wrapper_launches_only_listed_kernels():
    """Every ``_launch``/``_elementwise`` call in cuda.py names a listed kernel, and every listed
    kernel is launched somewhere (no dead or misspelt names)."""
    tree = ast.parse(inspect.getsource(gpu))
    used = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_launch", "_elementwise") and len(node.args) >= 2
                and all(isinstance(a, ast.Constant) for a in node.args[:2])):
            used.add((node.args[0].value, node.args[1].value))
    listed = {(stem, base) for stem, bases in gpu.KERNELS.items() for base in bases}
    assert used - listed == set(), f"launched but not listed in KERNELS: {sorted(used - listed)}"
    assert listed - used == set(), f"listed but never launched: {sorted(listed - used)}"


def test_interface_matches_reference():
    from tinydl.backends import reference as ref

    for name in REFERENCE_INTERFACE:
        want = list(inspect.signature(getattr(ref, name)).parameters)
        got = list(inspect.signature(getattr(gpu, name)).parameters)
        assert got == want, f"{name}: cuda has {got}, reference has {want}"
    assert list(inspect.signature(gpu.adam_step).parameters) == [
        "params", "grads", "ms", "vs", "lr", "beta1", "beta2", "eps", "step", "weight_decay",
        "decoupled"]
    assert list(inspect.signature(gpu.sgd_step).parameters) == [
        "params", "grads", "bufs", "lr", "momentum", "nesterov", "weight_decay"]
    gpu.reset_launch_count()
    assert gpu.launch_count() == 0


def test_without_cupy_calls_fail_clearly():
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("CuPy is installed here; this checks the message when it is not")
    from tinydl.backends import BackendUnavailable

    with pytest.raises(BackendUnavailable, match=r"tinydl\[gpu\]"):
        gpu.bias_act_forward(np.zeros((2, 3)), np.zeros(3), "relu")


# ============================================================================ (b) on a GPU

gpu_test = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pip install 'tinydl[gpu]')")
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # driver/runtime missing
        pytest.skip(f"CuPy is installed but no CUDA device answers: {e}")
    if n == 0:
        pytest.skip("CuPy is installed but no CUDA device is visible")
    return cupy


@pytest.fixture(scope="module")
def ref():
    from tinydl.backends import reference

    return reference


DTYPES = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def close(cp, got, want, dtype, **kw):
    assert isinstance(got, cp.ndarray)
    assert got.dtype == dtype, f"dtype {got.dtype}, expected {dtype}"
    assert got.flags.c_contiguous
    np.testing.assert_allclose(cp.asnumpy(got), want, **{**tol(dtype), **kw})


# (N, H, W, C, O, KH, KW, stride, padding, dilation)
CONV_CASES = [
    (2, 7, 6, 3, 4, 3, 3, (1, 1), ((1, 1), (1, 1)), (1, 1)),
    (2, 9, 8, 3, 5, 3, 3, (2, 2), ((0, 1), (2, 0)), (1, 1)),   # stride 2, asymmetric padding
    (1, 10, 9, 2, 3, 3, 2, (1, 1), ((2, 1), (1, 2)), (2, 2)),  # dilation 2
    (2, 11, 10, 4, 3, 2, 3, (2, 1), ((1, 0), (0, 2)), (2, 1)),  # mixed stride and dilation
    (2, 5, 4, 6, 7, 1, 1, (1, 1), ((0, 0), (0, 0)), (1, 1)),   # plain 1x1 (no im2col)
    (1, 6, 7, 3, 2, 1, 1, (2, 2), ((0, 0), (0, 0)), (1, 1)),   # strided 1x1: unreached inputs
]


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_against_reference(cp, ref, case, dtype):
    n, h, w, c, o, kh, kw, s, p, d = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    wt = rng.standard_normal((kh, kw, c, o)).astype(dtype)
    y_ref = ref.conv2d_forward(x, wt, s, p, d)
    xg, wg = cp.asarray(x), cp.asarray(wt)
    close(cp, gpu.conv2d_forward(xg, wg, s, p, d), y_ref, dtype)

    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    gx_ref, gw_ref = ref.conv2d_backward(x, wt, gy, s, p, d)
    gx, gw = gpu.conv2d_backward(xg, wg, cp.asarray(gy), s, p, d)
    close(cp, gx, gx_ref, dtype)
    close(cp, gw, gw_ref, dtype)
    # gx only, from the shape (the transposed-convolution use); deterministic gather
    gx2, none = gpu.conv2d_backward(None, wg, cp.asarray(gy), s, p, d, need_gw=False,
                                    x_shape=x.shape)
    assert none is None
    assert cp.array_equal(gx2, gx)
    none, gw2 = gpu.conv2d_backward(xg, wg, cp.asarray(gy), s, p, d, need_gx=False)
    assert none is None
    close(cp, gw2, gw_ref, dtype)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_conv2d_bias_act_against_reference(cp, ref, act, dtype):
    n, h, w, c, o, kh, kw, s, p, d = CONV_CASES[1]
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    wt = rng.standard_normal((kh, kw, c, o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    y_ref = ref.conv2d_bias_act_forward(x, wt, b, act, s, p, d)
    xg, wg = cp.asarray(x), cp.asarray(wt)
    y = gpu.conv2d_bias_act_forward(xg, wg, cp.asarray(b), act, s, p, d)
    close(cp, y, y_ref, dtype)
    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    want = ref.conv2d_bias_act_backward(x, wt, y_ref, gy, act, s, p, d)
    got = gpu.conv2d_bias_act_backward(xg, wg, y, cp.asarray(gy), act, s, p, d)
    for g, wnt in zip(got, want):
        close(cp, g, wnt, dtype)


# (N, H, W, C, pool, stride, padding)
POOL_CASES = [
    (2, 6, 6, 3, (2, 2), (2, 2), 0),
    (2, 7, 8, 2, (3, 3), (2, 2), ((1, 1), (1, 1))),
    (1, 7, 6, 3, (3, 2), (1, 2), ((1, 0), (0, 1))),   # asymmetric
    (1, 5, 5, 2, (2, 2), (1, 1), ((2, 0), (0, 1))),   # a row of padding-only windows
    (2, 9, 7, 2, (3, 3), (1, 1), ((1, 1), (1, 1))),   # heavy overlap
]


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool2d_against_reference(cp, ref, case, dtype):
    n, h, w, c, pool, s, p = case
    rng = np.random.default_rng(1)
    x = rng.integers(-2, 3, (n, h, w, c)).astype(dtype)  # many ties: the first maximum must win
    y_ref, am_ref = ref.maxpool2d_forward(x, pool, s, p)
    y, am = gpu.maxpool2d_forward(cp.asarray(x), pool, s, p)
    assert y.dtype == dtype and am.dtype == np.int32
    np.testing.assert_array_equal(cp.asnumpy(y), y_ref)
    np.testing.assert_array_equal(cp.asnumpy(am), am_ref)

    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    gx_ref = ref.maxpool2d_backward(gy, am_ref, x.shape, pool, s, p)
    close(cp, gpu.maxpool2d_backward(cp.asarray(gy), am, x.shape, pool, s, p), gx_ref, dtype)
    gx64 = gpu.maxpool2d_backward(cp.asarray(gy), am.astype(cp.int64), x.shape, pool, s, p)
    close(cp, gx64, gx_ref, dtype)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_avgpool2d_against_reference(cp, ref, case, dtype):
    n, h, w, c, pool, s, p = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    y_ref = ref.avgpool2d_forward(x, pool, s, p)
    close(cp, gpu.avgpool2d_forward(cp.asarray(x), pool, s, p), y_ref, dtype)
    gy = rng.standard_normal(y_ref.shape).astype(dtype)
    gx_ref = ref.avgpool2d_backward(gy, x.shape, pool, s, p)
    close(cp, gpu.avgpool2d_backward(cp.asarray(gy), x.shape, pool, s, p), gx_ref, dtype)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 4, 6), (3000, 5), (4, 300), (9,)])
def test_bias_act_against_reference(cp, ref, shape, act, dtype):
    rng = np.random.default_rng(3)
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    b = rng.standard_normal(shape[-1]).astype(dtype)
    y_ref = ref.bias_act_forward(x, b, act)
    y = gpu.bias_act_forward(cp.asarray(x), cp.asarray(b), act)
    close(cp, y, y_ref, dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    gx_ref, gb_ref = ref.bias_act_backward(y_ref, gy, act)
    gx, gb = gpu.bias_act_backward(cp.asarray(y_ref), cp.asarray(gy), act)
    close(cp, gx, gx_ref, dtype)
    close(cp, gb, gb_ref, dtype, rtol=1e-4 if dtype == np.float32 else 1e-10)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_act_extreme_inputs(cp, ref, dtype):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    b = np.zeros(x.shape[1], dtype=dtype)
    for act in ("sigmoid", "tanh", "relu"):
        y = cp.asnumpy(gpu.bias_act_forward(cp.asarray(x), cp.asarray(b), act))
        assert np.all(np.isfinite(y)), (act, y)
        np.testing.assert_allclose(y, ref.bias_act_forward(x, b, act), **tol(dtype))
    with pytest.raises(ValueError, match="unknown activation"):
        gpu.bias_act_forward(cp.asarray(x), cp.asarray(b), "gelu")


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, k, scale", [(6, 10, 3.0), (5, 1000, 3.0), (3, 1, 1.0),
                                         (70, 17, 1e4)])
def test_softmax_xent_against_reference(cp, ref, n, k, scale, dtype):
    rng = np.random.default_rng(4)
    logits = (scale * rng.standard_normal((n, k))).astype(dtype)
    labels = rng.integers(0, k, n)
    loss_ref, probs_ref = ref.softmax_xent_forward(logits, labels)
    loss, probs = gpu.softmax_xent_forward(cp.asarray(logits), cp.asarray(labels))
    assert np.all(np.isfinite(cp.asnumpy(loss)))
    close(cp, loss, loss_ref, dtype, rtol=1e-5 if dtype == np.float32 else 1e-10)
    close(cp, probs, probs_ref, dtype)
    gloss = rng.standard_normal(n).astype(dtype)
    g_ref = ref.softmax_xent_backward(probs_ref, labels, gloss)
    close(cp, gpu.softmax_xent_backward(probs, cp.asarray(labels.astype(np.int32)),
                                        cp.asarray(gloss)), g_ref, dtype)


# ---------------------------------------------------------------------------- fused optimizers

PARAM_SHAPES = [(3,), (7, 5), (40000,), (1,), (129, 130)]  # 40000 and 16770 span several chunks


def _params(cp, dtype, seed):
    rng = np.random.default_rng(seed)
    host = [rng.standard_normal(s).astype(dtype) for s in PARAM_SHAPES]
    return host, [cp.asarray(a) for a in host]


def _adam_numpy(p, g, m, v, lr, b1, b2, eps, t, wd, decoupled):
    if wd and not decoupled:
        g = g + wd * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    if decoupled:
        p = p * (1 - lr * wd)
    p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p, m, v


def _sgd_numpy(p, g, buf, lr, mu, nesterov, wd):
    d = g + wd * p
    if mu:
        buf = mu * buf + d
        d = d + mu * buf if nesterov else buf
    return p - lr * d, buf


def _opt_tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("wd, decoupled", [(0.0, False), (0.1, False), (0.1, True)])
def test_adam_step_against_numpy(cp, dtype, wd, decoupled):
    host_p, params = _params(cp, dtype, 5)
    ms = [cp.zeros_like(a) for a in params]
    vs = [cp.zeros_like(a) for a in params]
    want = [(a.astype(np.float64), 0.0, 0.0) for a in host_p]
    rng = np.random.default_rng(6)
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
    for t in range(1, 4):
        grads = [rng.standard_normal(s).astype(dtype) for s in PARAM_SHAPES]
        gpu.reset_launch_count()
        gpu.adam_step(params, [cp.asarray(g) for g in grads], ms, vs, lr, b1, b2, eps, t,
                      weight_decay=wd, decoupled=decoupled)
        assert gpu.launch_count() == 1, "the fused step must be one launch for all parameters"
        want = [_adam_numpy(p, g.astype(np.float64), m, v, lr, b1, b2, eps, t, wd, decoupled)
                for (p, m, v), g in zip(want, grads)]
        for got_p, got_m, got_v, (p, m, v) in zip(params, ms, vs, want):
            np.testing.assert_allclose(cp.asnumpy(got_p), p, **_opt_tol(dtype))
            np.testing.assert_allclose(cp.asnumpy(got_m), m, **_opt_tol(dtype))
            np.testing.assert_allclose(cp.asnumpy(got_v), v, **_opt_tol(dtype))


@gpu_test
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum, nesterov, wd", [(0.0, False, 0.0), (0.9, False, 0.0),
                                                    (0.9, True, 0.01), (0.5, False, 0.1)])
def test_sgd_step_against_numpy(cp, dtype, momentum, nesterov, wd):
    host_p, params = _params(cp, dtype, 7)
    bufs = None if momentum == 0 else [cp.zeros_like(a) for a in params]
    want = [(a.astype(np.float64), 0.0) for a in host_p]
    rng = np.random.default_rng(8)
    for _ in range(3):
        grads = [rng.standard_normal(s).astype(dtype) for s in PARAM_SHAPES]
        gpu.reset_launch_count()
        gpu.sgd_step(params, [cp.asarray(g) for g in grads], bufs, 0.05, momentum, nesterov, wd)
        assert gpu.launch_count() == 1
        want = [_sgd_numpy(p, g.astype(np.float64), b, 0.05, momentum, nesterov, wd)
                for (p, b), g in zip(want, grads)]
        for i, (p, b) in enumerate(want):
            np.testing.assert_allclose(cp.asnumpy(params[i]), p, **_opt_tol(dtype))
            if bufs is not None:
                np.testing.assert_allclose(cp.asnumpy(bufs[i]), b, **_opt_tol(dtype))


@gpu_test
def test_optimizer_views_mixed_dtypes_and_missing_grads(cp):
    # parameters as views into one flat buffer (pointer offsets), a float64 one, a grad of None
    flat = cp.arange(30, dtype=cp.float32) / 10
    p32 = [flat[:10].reshape(2, 5), flat[10:30]]
    p64 = cp.ones(4, dtype=cp.float64)
    frozen = cp.full(3, 7.0, dtype=cp.float32)
    params = p32 + [p64, frozen]
    before = [cp.asnumpy(a).copy() for a in params]
    grads = [cp.ones((2, 5), cp.float32), cp.ones(20, cp.float32), cp.ones(4, cp.float64), None]
    gpu.reset_launch_count()
    gpu.sgd_step(params, grads, None, 0.5, 0.0, False, 0.0)
    assert gpu.launch_count() == 2  # one per dtype present
    for got, b in zip(params[:3], before[:3]):
        np.testing.assert_allclose(cp.asnumpy(got), b - 0.5, rtol=1e-6)
    np.testing.assert_array_equal(cp.asnumpy(frozen), before[3])
    np.testing.assert_allclose(cp.asnumpy(flat), np.concatenate([before[0].ravel(), before[1]]) - 0.5,
                               rtol=1e-6)
    with pytest.raises(ValueError, match="C-contiguous"):
        gpu.sgd_step([cp.ones((4, 4), cp.float32)[:, ::2]], [cp.ones((4, 2), cp.float32)], None,
                     0.1, 0.0, False, 0.0)


@gpu_test
def test_launch_counter(cp):
    x = cp.asarray(np.random.default_rng(9).standard_normal((2, 8, 8, 3)), dtype=cp.float32)
    w3 = cp.ones((3, 3, 3, 4), cp.float32)
    w1 = cp.ones((1, 1, 3, 4), cp.float32)
    plain = ((1, 1), ((0, 0), (0, 0)), (1, 1))

    def count(fn):
        gpu.reset_launch_count()
        fn()
        return gpu.launch_count()

    assert count(lambda: gpu.conv2d_forward(x, w3, (1, 1), 1, (1, 1))) == 2  # im2col + matmul
    assert count(lambda: gpu.conv2d_forward(x, w1, *plain)) == 1  # matmul only
    gy = cp.ones((2, 8, 8, 4), cp.float32)
    assert count(lambda: gpu.conv2d_backward(x, w3, gy, (1, 1), 1, (1, 1))) == 4
    assert count(lambda: gpu.maxpool2d_forward(x, (2, 2), (2, 2), 0)) == 1
    assert count(lambda: gpu.bias_act_forward(x, cp.zeros(3, cp.float32), "relu")) == 1
    assert count(lambda: gpu.bias_act_backward(x, x, "relu")) == 2
    # a non-contiguous input costs one extra (counted) copy
    assert count(lambda: gpu.bias_act_forward(x[:, ::2], cp.zeros(3, cp.float32), "relu")) == 2
    logits = cp.zeros((4, 10), cp.float32)
    labels = cp.zeros(4, cp.int64)
    assert count(lambda: gpu.softmax_xent_forward(logits, labels)) == 1
    assert count(lambda: gpu.softmax_xent_backward(logits, labels, cp.ones(4, cp.float32))) == 1
    gpu.reset_launch_count()
    assert gpu.launch_count() == 0


@gpu_test
@pytest.mark.slow
def test_indices_beyond_int32(cp):
    # 2**31 + 256 elements: the grid-stride index must be 64-bit (about 17 GB of GPU memory)
    free, _ = cp.cuda.runtime.memGetInfo()
    if free < 20 * 2**30:
        pytest.skip("needs about 20 GiB of free GPU memory")
    rows = (2**31 + 256) // 128
    x = cp.zeros((rows, 128), dtype=cp.float32)
    x[-1] = cp.arange(128, dtype=cp.float32) - 64
    b = cp.ones(128, dtype=cp.float32)
    y = gpu.bias_act_forward(x, b, "relu")
    np.testing.assert_array_equal(cp.asnumpy(y[-1]), np.maximum(np.arange(128) - 63, 0))
    assert float(y[0, 0]) == 1.0
