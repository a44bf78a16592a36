"""tinydl's PyTorch tensor API against values recorded from PyTorch 2.13 (tests/golden).

Every case is a PyTorch expression stored as text in torch_tensor.json; here it runs with
``torch = tinydl`` on the recorded NumPy inputs, and its outputs (values, dtypes, shapes, index
outputs), the gradients of a fixed weighted sum of them, and the errors PyTorch raises must match.
"""
import builtins
import json
import pathlib
import re

import numpy as np
import pytest

import tinydl
import tinydl as torch  # the expressions are PyTorch code

GOLDEN = pathlib.Path(__file__).parent / "golden"
META = json.loads((GOLDEN / "torch_tensor.json").read_text())
PACKED = np.load(GOLDEN / "torch_tensor.npz", allow_pickle=False)


def _unpack():
    """The record script packs the arrays, one flat array per dtype; META["arrays"] says where."""
    data = {"__version__": PACKED["__version__"]}
    flat = {name: PACKED[name] for name in PACKED.files}
    for key, (dtype, offset, shape) in META["arrays"].items():
        n = int(np.prod(shape))
        data[key] = flat[dtype][offset:offset + n].reshape(shape)
    return data


DATA = _unpack()
# recorded PyTorch behaviour tinydl departs from on purpose (each is a `differs` row in the table)
DELIBERATE = {"numpy_requires_grad": "test_numpy_of_a_tensor_that_requires_grad"}
CASES = {c["name"]: c for c in META["cases"] if c["name"] not in DELIBERATE}
TABLE = pathlib.Path(__file__).parent.parent / "docs" / "conformance" / "pytorch_tensor.md"


def test_fixture_records_pytorch_2_13():
    assert str(DATA["__version__"]).startswith("2.13.") and META["torch_version"].startswith("2.13.")


def _env(c):
    env = {"torch": torch}
    for name in c["inputs"]:
        a = DATA[f"{c['name']}/in/{name}"]
        if name == "a":
            env[name] = a.copy()
            continue
        t = torch.tensor(a)
        if name in c["grad"]:
            t.requires_grad_(True)
        env[name] = t
    return env


def _leaves(result):
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, torch.Size) or (isinstance(result, tuple) and all(type(n) is int for n in result)
                                          and result and not isinstance(result, list)):
        return [("shape", list(result))]  # Tensor.shape is a plain tuple (size() is a Size)
    if isinstance(result, (tuple, list)) and not (isinstance(result, list) and result and
                                                  not isinstance(result[0], (torch.Tensor, tuple, list))):
        return [leaf for r in result for leaf in _leaves(r)]
    return [("value", result)]


def _weights(k, shape):
    return np.random.default_rng(7 + k).standard_normal(shape)


def _close(got, want, what, rtol=2e-5, atol=2e-6):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    c = CASES[name]
    env = _env(c)
    if c["raises"]:
        with pytest.raises(getattr(builtins, c["raises"])):
            eval(c["expr"], env)
        return
    result = eval(c["expr"], env)
    leaves = _leaves(result)
    assert len(leaves) == len(c["outputs"]), f"{name}: {len(leaves)} outputs, PyTorch gave {len(c['outputs'])}"
    loss = 0
    for k, (leaf, want) in enumerate(zip(leaves, c["outputs"])):
        if want["kind"] == "tensor":
            assert isinstance(leaf, torch.Tensor), f"{name}: output {k} is {type(leaf).__name__}, not a Tensor"
            assert leaf.dtype == np.dtype(want["dtype"]), f"{name}: output {k} dtype {leaf.dtype} != {want['dtype']}"
            assert list(leaf.shape) == want["shape"], f"{name}: output {k} shape {leaf.shape} != {want['shape']}"
            _close(np.asarray(leaf), DATA[f"{name}/out/{k}"], f"{name}: output {k}")
            if leaf.requires_grad:
                loss = loss + (leaf * torch.tensor(_weights(k, leaf.shape), dtype=leaf.dtype)).sum()
        elif want["kind"] == "shape":
            assert leaf[0] == "shape" and leaf[1] == want["value"], f"{name}: {leaf} != {want}"
        else:
            got = json.loads(json.dumps(leaf[1]))  # as recorded: tuples (Size) become lists
            assert type(got).__name__ == type(want["value"]).__name__ or \
                isinstance(want["value"], (int, float)) and isinstance(got, (int, float)), (name, got, want)
            if isinstance(want["value"], float):
                assert got == pytest.approx(want["value"], rel=1e-6), (name, got, want)
            else:
                assert got == want["value"], (name, got, want)
    if c["grad"]:
        loss.backward()
        for g in c["grad"]:
            grad = env[g].grad
            got = np.zeros_like(DATA[f"{name}/in/{g}"]) if grad is None else np.asarray(grad)
            _close(got, DATA[f"{name}/grad/{g}"], f"{name}: gradient of {g}", rtol=1e-4, atol=1e-5)


# ---- the new differentiable ops: forward against NumPy, gradients against finite differences ----
from hypothesis import given, settings, strategies as st  # noqa: E402

from tinydl.testing import OpSpec, check_op_spec, check_op_spec_second_order  # noqa: E402
from tinydl.testing import strategies as tst  # noqa: E402
from tinydl.core.ops.gather import ScatterAddAlong  # noqa: E402

S1 = tst.shapes(1, 3).map(lambda s: (s,))
M2 = tst.shapes(2, 2, 2, 4).map(lambda s: (s,))
FL = tst.floats()
UNIT = tst.floats(-0.8, 0.8)
POS = tst.positive()
STEPS = tst.away_from([-2.5, -2, -1.5, -1, -0.5, 0.0, 0.5, 1, 1.5, 2, 2.5], 0.05, -2.9, 2.9)


def _unary(name, fn, ref, covers, elements=FL, shapes=S1, **kw):
    return OpSpec(name, fn, ref, tst.arrays_for(shapes, elements), covers, **kw)


def _gather_idx(a):
    """A fixed, repeating index pattern along dim 1 for a 2-d input (duplicates accumulate)."""
    n, m = a.shape
    return np.array([[(i + j) % m for j in range(m + 1)] for i in range(n)])


def _scatter_idx(a):
    n, m = a.shape
    return np.array([[(i + 1) % m] for i in range(n)])


def _np_scatter(a, b):
    out = a.copy()
    idx = _scatter_idx(a)
    for i in range(a.shape[0]):
        out[i, idx[i, 0]] = b[i, 0]
    return out


def _np_scatter_add(a, b):
    out = a.copy()
    idx = _gather_idx(a)
    for i in range(a.shape[0]):
        for j in range(idx.shape[1]):
            out[i, idx[i, j]] += b[i, j]
    return out


TWO_BY = tst.shapes(2, 2, 2, 4).flatmap(
    lambda s: st.tuples(tst.arrays(s), tst.arrays((s[0], s[1] + 1))))
SCATTER_IN = tst.shapes(2, 2, 2, 4).flatmap(lambda s: st.tuples(tst.arrays(s), tst.arrays((s[0], 1))))

SPECS = [
    _unary("sin", torch.sin, np.sin, ["Sin"]),
    _unary("cos", torch.cos, np.cos, ["Cos"]),
    _unary("tan", torch.tan, np.tan, ["Tan"], tst.floats(-1.2, 1.2)),
    _unary("asin", torch.asin, np.arcsin, ["Asin"], UNIT),
    _unary("acos", torch.acos, np.arccos, ["Acos"], UNIT),
    _unary("atan", torch.atan, np.arctan, ["Atan"]),
    _unary("sinh", torch.sinh, np.sinh, ["Sinh"]),
    _unary("cosh", torch.cosh, np.cosh, ["Cosh"]),
    _unary("log1p", torch.log1p, np.log1p, ["Log1p"], POS),
    _unary("expm1", torch.expm1, np.expm1, ["Expm1"]),
    OpSpec("atan2", torch.atan2, np.arctan2, tst.arrays_for(tst.broadcastable_shapes(2), [FL, POS]), ["Atan2"]),
    _unary("round_floor_ceil_sign", lambda a: torch.round(a) + torch.floor(a) * a + torch.ceil(a) + torch.sign(a)
           + torch.trunc(a) * a, lambda a: np.round(a) + np.floor(a) * a + np.ceil(a) + np.sign(a) + np.trunc(a) * a,
           ["Step"], STEPS),
    OpSpec("gather", lambda a, _: torch.gather(a * a, 1, torch.tensor(_gather_idx(a.detach().numpy()))),
           lambda a, _: np.take_along_axis(a * a, _gather_idx(a), 1), TWO_BY, ["Gather"], wrt=[0]),
    OpSpec("scatter_add", lambda a, b: torch.scatter_add(a, 1, torch.tensor(_gather_idx(a.detach().numpy())), b * b),
           lambda a, b: _np_scatter_add(a, b * b), TWO_BY, ["ScatterAddAlong"]),
    OpSpec("scatter_add_along_op", lambda g: ScatterAddAlong.apply(g * g, dim=0, index=np.array([[0], [0], [1]]),
                                                                  shape=(2, 1)),
           lambda g: np.array([[g[0, 0] ** 2 + g[1, 0] ** 2], [g[2, 0] ** 2]]),
           tst.arrays_for(st.just(((3, 1),)), FL), ["ScatterAddAlong"]),
    OpSpec("scatter", lambda a, b: torch.scatter(a * a, 1, torch.tensor(_scatter_idx(a.detach().numpy())), b * b),
           lambda a, b: _np_scatter(a * a, b * b), SCATTER_IN, ["Scatter"]),
    OpSpec("cumsum", lambda a: torch.cumsum(a * a, dim=-1), lambda a: np.cumsum(a * a, axis=-1),
           tst.arrays_for(S1, FL), ["CumSum"]),
    OpSpec("prod", lambda a: torch.prod(a, dim=-1), lambda a: np.prod(a, axis=-1),
           tst.arrays_for(S1, tst.away_from([0.0], 0.2)), ["Prod"]),
    OpSpec("prod_all", lambda a: torch.prod(a), lambda a: np.prod(a),
           tst.arrays_for(tst.shapes(1, 2, 1, 3).map(lambda s: (s,)), tst.away_from([0.0], 0.2)), ["Prod"]),
    OpSpec("einsum_mm", lambda a, b: torch.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b),
           st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).flatmap(
               lambda s: st.tuples(tst.arrays((s[0], s[1])), tst.arrays((s[1], s[2])))), ["Einsum"]),
    OpSpec("einsum_reduce", lambda a, b: torch.einsum("ij,i->j", a * a, b), lambda a, b: np.einsum("ij,i->j", a * a, b),
           st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
               lambda s: st.tuples(tst.arrays(s), tst.arrays((s[0],)))), ["Einsum"]),
]
SECOND_ORDER = [s for s in SPECS if s.second_order]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_new_op_forward_and_gradient(spec, data):
    check_op_spec(spec, data.draw(spec.inputs, label="inputs"))


@pytest.mark.parametrize("spec", SECOND_ORDER, ids=lambda s: s.name)
@settings(max_examples=5)
@given(data=st.data())
def test_new_op_second_order(spec, data):
    check_op_spec_second_order(spec, data.draw(spec.inputs, label="inputs"))


def test_prod_gradient_with_zeros_is_exact():
    x = torch.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]], requires_grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])


# ---- names without a recorded case: random generators, dtypes, devices, autograd attributes ----
def test_generator_and_seeds():
    g = torch.Generator().manual_seed(3)
    a = torch.rand(4, generator=g)
    g.manual_seed(3)
    assert torch.equal(a, torch.rand(4, generator=g)) and g.initial_seed() == 3
    state = g.get_state()
    assert state.dtype == torch.uint8
    b = torch.randn(3, generator=g)
    g.set_state(state)
    assert torch.equal(b, torch.randn(3, generator=g))
    assert torch.manual_seed(5) is torch.default_generator and torch.initial_seed() == 5
    first = (torch.randint(0, 10, (5,)), torch.randperm(5))
    torch.manual_seed(5)
    again = (torch.randint(0, 10, (5,)), torch.randperm(5))
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    s = torch.seed()
    assert torch.initial_seed() == s
    with pytest.raises(TypeError):
        torch.manual_seed(1.5)


def test_default_dtype_is_process_wide():
    assert torch.get_default_dtype() == torch.float32
    try:
        torch.set_default_dtype(torch.float64)
        assert torch.tensor([1.0]).dtype == torch.float64 and torch.zeros(2).dtype == torch.float64
        assert torch.arange(0.0, 1.0, 0.5).dtype == torch.float64 and torch.tensor([1]).dtype == torch.int64
    finally:
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    assert str(torch.float32) == "float32" and torch.float is torch.float32 and torch.long is torch.int64


def test_device_and_cuda():
    assert repr(torch.device("cuda:0")) == "device(type='cuda', index=0)" and str(torch.device("cuda", 0)) == "cuda:0"
    assert torch.device("cpu") == torch.device("cpu") and torch.device("cpu") != "cpu"  # as in PyTorch
    with pytest.raises(RuntimeError):
        torch.device("tpu")
    x = torch.ones(2)
    assert x.device == torch.device("cpu") and x.device.type == "cpu" and x.cpu() is x
    available = torch.cuda.is_available()
    assert torch.cuda.device_count() == (1 if available else 0)
    torch.cuda.manual_seed(0), torch.cuda.manual_seed_all(0), torch.cuda.synchronize()
    if not available:  # PyTorch without CUDA raises AssertionError ("Torch not compiled with CUDA enabled")
        for move in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to(torch.device("cuda:0")),
                     lambda: torch.zeros(2, device="cuda"), torch.cuda.current_device):
            with pytest.raises(AssertionError, match="no CUDA GPU"):
                move()
    else:
        y = x.cuda()
        assert y.device == torch.device("cuda", 0) and y.is_cuda and torch.cuda.current_device() == 0
        assert torch.equal(y.cpu(), x)


def test_size_is_a_tuple_with_numel():
    s = torch.zeros(2, 3).size()
    assert isinstance(s, torch.Size) and isinstance(s, tuple) and s == (2, 3) and s.numel() == 6
    assert isinstance(torch.zeros(1), torch.Tensor)


def test_numpy_interop_and_python_conversions():
    x = torch.tensor([[1.5, -2.0]], requires_grad=True)
    assert np.asarray(x).tolist() == [[1.5, -2.0]]          # every tensor, also one that requires grad
    z = torch.tensor(2.5)
    assert np.asarray(z).shape == () and float(np.asarray(z)) == 2.5 and np.float32(z) == np.float32(2.5)
    assert f"{z:.2f}" == "2.50" and len(x) == 1 and [r.shape for r in x] == [(2,)]
    assert bool(torch.tensor([1])) is True
    with pytest.raises(RuntimeError):
        bool(x)


def test_autograd_attributes():
    x = torch.tensor([1.0, 2.0]).requires_grad_()
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    y = x * x
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0] and seen == [[1.0, 1.0]] and x.grad.tolist() == [2.0, 4.0]
    z = x * 3
    assert not z.is_leaf and z.grad_fn is not None
    z.detach_()
    assert z.is_leaf and not z.requires_grad


# ---- the conformance table ----------------------------------------------------------------------
_NOT_TENSOR_API = {"Tensor", "backends", "cuda"}
_TENSOR_ATTRS = {"item", "tolist", "clone", "detach", "detach_", "requires_grad_", "backward", "retain_grad",
                 "register_hook", "add_", "sub_", "mul_", "div_", "pow_", "clamp_", "clip_", "zero_", "fill_",
                 "masked_fill_", "normal_", "uniform_", "copy_", "shape", "dtype", "ndim", "T", "grad", "is_leaf",
                 "grad_fn", "requires_grad", "data", "__getitem__", "__setitem__", "__array__", "__float__",
                 "__int__", "__len__", "__iter__", "__format__", "__bool__"}


def _public_names():
    from tinydl.core.torch_api import creation, dtypes_devices, indexing, methods, pointwise, reductions, shape
    names = set()
    for mod in (dtypes_devices, creation, shape, reductions, indexing, pointwise):
        names |= {f"torch.{n}" for n, v in vars(mod).items()
                  if not n.startswith("_") and n not in _NOT_TENSOR_API and getattr(tinydl, n, None) is v}
    names |= {f"torch.cuda.{n}" for n in ("is_available", "device_count", "current_device", "manual_seed",
                                          "manual_seed_all", "synchronize")}
    names |= {f"Tensor.{n}" for n in vars(methods.TorchMethods) if not n.startswith("_")}
    names |= {f"Tensor.{n}" for n in vars(methods.TorchMethods) if n in ("__and__", "__or__", "__xor__",
                                                                          "__invert__", "__floordiv__", "__mod__")}
    return names | {f"Tensor.{n}" for n in _TENSOR_ATTRS} | {"torch.Tensor"}


def _table_rows():
    rows = {}
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_conformance_table_has_a_checked_row_for_every_name():
    rows = _table_rows()
    missing = sorted(_public_names() - set(rows))
    assert not missing, f"names without a row in {TABLE.name}: {missing}"
    module = globals()
    for name, (status, check, _notes) in rows.items():
        assert status in ("same", "differs", "NotImplementedError"), (name, status)
        path, _, test = check.strip("`").partition("::")
        assert path == "tests/test_torch_tensor.py", (name, check)
        m = re.fullmatch(r"test_golden\[(\w+)\]", test)
        if m:
            assert m.group(1) in CASES, f"{name}: no recorded case {m.group(1)!r}"
        else:
            assert callable(module.get(test)) and test.startswith("test_"), f"{name}: no test {test!r}"


def test_data_is_the_backing_array():
    """``Tensor.data`` is the NumPy (or CuPy) array itself, not a Tensor (a deliberate difference);
    the old idiom ``w.data -= lr * w.grad.data`` still updates ``w`` in place."""
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad.data
    assert isinstance(w.data, np.ndarray) and w.tolist() == [0.0, 0.0]


def test_tensor_class_constructor_differs():
    """``tinydl.Tensor(data)`` is tinydl's constructor: it keeps integer data integer and wraps an
    ndarray without a copy (``torch.Tensor(data)`` always makes the default float dtype, and
    ``torch.Tensor(2, 3)`` an uninitialised 2x3 tensor). PyTorch code should use ``tensor()``."""
    assert torch.Tensor([1, 2]).dtype == torch.int64 and torch.tensor([1.0, 2]).dtype == torch.float32
    a = np.zeros(2, np.float32)
    assert np.shares_memory(torch.Tensor(a).data, a) and not np.shares_memory(torch.tensor(a).data, a)
    with pytest.raises(TypeError):  # Tensor(2, 3) is not a shape: the 3 is requires_grad for int data
        torch.Tensor(2, 3)
    assert isinstance(torch.zeros(1), torch.Tensor)


def test_numpy_of_a_tensor_that_requires_grad():
    # PyTorch raises here (recorded case numpy_requires_grad); tinydl gives the value, because the
    # same Tensor is TensorFlow's eager tensor and `model(x).numpy()` is in every Keras guide
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = x * 3
    a = y.numpy()
    assert isinstance(a, np.ndarray) and a.tolist() == [3.0, -6.0]
    assert "numpy_requires_grad" in {c["name"] for c in META["cases"]}  # the recorded case exists
    y.sum().backward()  # taking the value did not disturb the graph
    assert x.grad.tolist() == [3.0, 3.0]
