"""Every core op: forward against NumPy, gradients against finite differences (hypothesis shapes)."""
import math

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import given, strategies as st

import tinydl as td
from tinydl.core import functional as CF  # the NumPy-flavoured op functions the library uses
from tinydl.core.ops.shape import ScatterAdd
from tinydl.testing import OpSpec, check_op_spec, check_op_spec_second_order, gradgradcheck
from tinydl.testing import strategies as tst

B2 = tst.broadcastable_shapes(2)
B3 = tst.broadcastable_shapes(3)
S1 = tst.shapes(0, 3).map(lambda s: (s,))
S1nz = tst.shapes(1, 3).map(lambda s: (s,))
F = tst.floats()
POS = tst.positive()
KINK0 = tst.away_from([0.0], 0.05)
# two broadcastable arrays that never tie: a on a grid, b on the same grid shifted by half a step
NO_TIES = B2.flatmap(lambda s: st.tuples(tst.distinct(st.just(s[0])),
                                         tst.distinct(st.just(s[1])).map(lambda b: b + 0.0015)))


def unary(name, fn, ref, covers, elements=F, shapes=S1, **kw):
    return OpSpec(name, fn, ref, tst.arrays_for(shapes, elements), covers, **kw)


def binary(name, fn, ref, covers, elements=F, **kw):
    return OpSpec(name, fn, ref, tst.arrays_for(B2, elements), covers, **kw)


@st.composite
def _matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(tst.broadcastable_shapes(2, max_dims=2))
    kind = draw(st.sampled_from(["mm", "vec_mat", "mat_vec", "vec_vec", "batched"]))
    return {"mm": ((n, k), (k, m)), "vec_mat": ((k,), (k, m)), "mat_vec": ((n, k), (k,)),
            "vec_vec": ((k,), (k,)),
            "batched": (batch[0] + (n, k), batch[1] + (k, m))}[kind]


@st.composite
def _axis_case(draw, min_dims=1, min_side=1):
    shape = draw(tst.shapes(min_dims, 3, min_side))
    axes = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)))
    keep = draw(st.booleans())
    return shape, axes, keep


def reduction(name, tdfn, npfn, covers, distinct=False, elements=F, min_side=1, **kw):
    @st.composite
    def inputs(draw):
        shape, axes, keep = draw(_axis_case(min_side=min_side))
        arr = draw(tst.distinct(st.just(shape)) if distinct else tst.arrays(shape, elements))
        return arr, axes, keep
    # the axis and keepdims ride along as a 0-d object array so OpSpec sees one input tuple
    spec = OpSpec(name, None, None, inputs().map(lambda c: (c,)), covers, **kw)
    spec.case_fn, spec.case_ref = tdfn, npfn
    return spec


def _softmax_ref(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@st.composite
def _getitem_case(draw):
    shape = draw(tst.shapes(1, 3, 1, 5))
    kind = draw(st.sampled_from(["basic", "int_array", "bool", "mixed"]))
    if kind == "basic":
        idx = tuple(draw(st.one_of(st.integers(0, n - 1), st.slices(n))) for n in shape)
        idx = idx[:1] + (None, Ellipsis) if len(idx) == 1 else idx
    elif kind == "int_array":  # repeated indices must accumulate
        idx = np.asarray(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6)))
    elif kind == "bool":
        idx = np.asarray(draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0])))
    else:
        idx = (slice(None),) * (len(shape) - 1) + (np.asarray(draw(st.lists(
            st.integers(0, shape[-1] - 1), min_size=1, max_size=4))),) if len(shape) >= 2 else (np.asarray([0, 0]),)
    return shape, idx


@st.composite
def _concat_case(draw, stack=False):
    base = list(draw(tst.shapes(1, 3)))
    axis = draw(st.integers(0, len(base) - 1))
    n = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n):
        s = list(base)
        if not stack:
            s[axis] = draw(st.integers(1, 3))
        shapes.append(tuple(s))
    arrays = tuple(draw(tst.arrays(s)) for s in shapes)
    return arrays, axis


SPECS = [
    binary("add", lambda a, b: a + b, np.add, ["Add"]),
    binary("sub", lambda a, b: a - b, np.subtract, ["Sub"]),
    binary("mul", lambda a, b: a * b, np.multiply, ["Mul"]),
    OpSpec("div", lambda a, b: a / b, np.divide, tst.arrays_for(B2, [F, POS]), ["Div"]),
    unary("neg", lambda a: -a, np.negative, ["Neg"]),
    OpSpec("pow", lambda a, b: a ** b, np.power, tst.arrays_for(B2, [POS, tst.floats(-2, 2)]), ["Pow"]),
    OpSpec("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, tst.arrays_for(S1, F), ["Pow"]),
    OpSpec("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, tst.arrays_for(S1, F), ["Pow"]),
    OpSpec("matmul", lambda a, b: a @ b, np.matmul, _matmul_shapes().flatmap(
        lambda s: st.tuples(tst.arrays(s[0]), tst.arrays(s[1]))), ["MatMul"]),
    unary("exp", td.exp, np.exp, ["Exp"]),
    unary("log", td.log, np.log, ["Log"], POS),
    unary("sqrt", td.sqrt, np.sqrt, ["Sqrt"], POS),
    unary("abs", td.abs, np.abs, ["Abs"], KINK0),
    unary("clip", lambda a: td.clip(a, -1.0, 1.5), lambda a: np.clip(a, -1.0, 1.5), ["Clip"],
          tst.away_from([-1.0, 1.5], 0.05)),
    OpSpec("maximum", td.maximum, np.maximum, NO_TIES, ["Maximum"]),
    OpSpec("minimum", td.minimum, np.minimum, NO_TIES, ["Minimum"]),
    OpSpec("where", lambda c, a, b: td.where(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
           tst.arrays_for(B3, [KINK0, F, F]), ["Where"], wrt=[1, 2]),
    unary("relu", td.relu, lambda a: np.maximum(a, 0), ["ReLU"], KINK0),
    unary("leaky_relu", lambda a: td.leaky_relu(a, 0.2), lambda a: np.where(a > 0, a, 0.2 * a),
          ["LeakyReLU"], KINK0),
    unary("sigmoid", td.sigmoid, lambda a: 1 / (1 + np.exp(-a)), ["Sigmoid"]),
    unary("tanh", td.tanh, np.tanh, ["Tanh"]),
    unary("gelu_tanh", lambda a: td.gelu(a, "tanh"),
          lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3))), ["GELU"]),
    unary("gelu_exact", td.gelu, None, ["GELU"]),
    reduction("sum", CF.sum, np.sum, ["Sum"]),
    reduction("mean", CF.mean, np.mean, ["Mean"]),
    reduction("max", CF.max, np.max, ["Max"], distinct=True),
    reduction("min", CF.min, np.min, ["Min"], distinct=True),
    reduction("var", CF.var, np.var, ["Var"]),
    reduction("std", CF.std, np.std, ["Var", "Sqrt"], distinct=True, min_side=2),  # std'(0) is undefined
    reduction("logsumexp", CF.logsumexp,
              lambda a, axis, keepdims: np.log(np.exp(a).sum(axis=axis, keepdims=keepdims)), ["LogSumExp"]),
    OpSpec("softmax", lambda a: td.softmax(a, axis=-1), lambda a: _softmax_ref(a, -1),
           tst.arrays_for(S1nz, F), ["Softmax"]),
    OpSpec("softmax_axis0", lambda a: td.softmax(a, axis=0), lambda a: _softmax_ref(a, 0),
           tst.arrays_for(S1nz, F), ["Softmax"]),
    OpSpec("log_softmax", lambda a: td.log_softmax(a, axis=-1), lambda a: np.log(_softmax_ref(a, -1)),
           tst.arrays_for(S1nz, F), ["LogSoftmax"]),
    OpSpec("reshape", lambda a: a.reshape(-1), lambda a: a.reshape(-1), tst.arrays_for(S1, F), ["Reshape"]),
    OpSpec("transpose", lambda a: a.T, lambda a: a.T, tst.arrays_for(S1, F), ["Transpose"]),
    OpSpec("permute", lambda a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1),
           tst.arrays_for(tst.shapes(3, 3).map(lambda s: (s,)), F), ["Transpose"]),
    OpSpec("swapaxes", lambda a: a.swapaxes(0, -1), lambda a: a.swapaxes(0, -1),
           tst.arrays_for(S1nz, F), ["Transpose"]),
    OpSpec("broadcast_to", lambda a: td.broadcast_to(a, (2,) + a.shape[:-1] + (3,)) if a.shape[-1] == 1
           else td.broadcast_to(a, (2,) + a.shape),
           lambda a: np.broadcast_to(a, (2,) + a.shape[:-1] + (3,)) if a.shape[-1] == 1 else np.broadcast_to(a, (2,) + a.shape),
           tst.arrays_for(S1nz, F), ["BroadcastTo"]),
    OpSpec("squeeze_unsqueeze", lambda a: a.unsqueeze(0).squeeze(), lambda a: a.squeeze(),
           tst.arrays_for(S1, F), ["Reshape"]),
    OpSpec("flatten", lambda a: a.flatten(1), lambda a: a.reshape(a.shape[0], -1),
           tst.arrays_for(tst.shapes(2, 3).map(lambda s: (s,)), F), ["Reshape"]),
    OpSpec("pad", lambda a: td.pad(a, [(1, 0)] * a.ndim, 0.5),
           lambda a: np.pad(a, [(1, 0)] * a.ndim, constant_values=0.5), tst.arrays_for(S1nz, F), ["Pad"]),
    OpSpec("split", lambda a: CF.concatenate(CF.split(a, [1], axis=0)[::-1], axis=0),
           lambda a: np.concatenate(np.split(a, [1], axis=0)[::-1], axis=0),
           tst.arrays_for(tst.shapes(1, 3, 2, 4).map(lambda s: (s,)), F), ["GetItem", "Concatenate"]),
    OpSpec("astype", lambda a: (a.astype(np.float32) * 2).astype(np.float64), None,
           tst.arrays_for(S1, F), ["_Cast"], atol=1e-4, rtol=1e-4, eps=1e-2),  # linear: big eps is exact
    unary("erf", td.erf, np.vectorize(math.erf), ["Erf"]),
    unary("clone", lambda a: td.clone(a) * a, lambda a: a * a, ["Clone"]),
    OpSpec("scatter_add", lambda g: ScatterAdd.apply(g * g, index=(np.array([0, 0, 1]),), shape=(3,) + g.shape[1:]),
           lambda g: np.stack([g[0] ** 2 + g[1] ** 2, g[2] ** 2, 0 * g[0]]),
           tst.arrays_for(tst.shapes(1, 2).map(lambda s: ((3,) + s[1:],)), F), ["ScatterAdd"]),
    # in-place ops on non-leaf tensors are differentiable (and twice): the result is rebased
    OpSpec("setitem", lambda a, v: _setitem(a, v), lambda a, v: _setitem_ref(a, v),
           tst.arrays_for(st.just(((3, 2), (2,))), F), ["SetItem"]),
    binary("add_", lambda a, b: (a * 1).add_(b, alpha=2) if a.shape == np.broadcast_shapes(a.shape, b.shape) else a + 2 * b,
           lambda a, b: a + 2 * b, []),
    binary("mul_", lambda a, b: (a * a).mul_(b) if a.shape == np.broadcast_shapes(a.shape, b.shape) else a * a * b,
           lambda a, b: a * a * b, []),
    OpSpec("div_", lambda a, b: (a * 1).div_(b * b), lambda a, b: a / (b * b),
           tst.arrays_for(st.just(((2, 3), (3,))), [F, POS]), []),
    OpSpec("pow_", lambda a: (a * 1).pow_(3), lambda a: a ** 3, tst.arrays_for(S1, F), []),
    OpSpec("clamp_", lambda a: (a * a).clamp_(0.5, 4.0), lambda a: np.clip(a * a, 0.5, 4.0),
           tst.arrays_for(S1, tst.away_from([-2.0, -0.7071, 0.7071, 2.0], 0.05)), []),
    OpSpec("masked_fill_", lambda a: (a * a).masked_fill_(td.Tensor(a.detach().numpy() > 0), 2.0),
           lambda a: np.where(a > 0, 2.0, a * a), tst.arrays_for(S1, KINK0), []),
    OpSpec("copy_fill_", lambda a, b: _copy_fill(a, b), lambda a, b: np.concatenate([b * b, 0 * a[:1] + 1.5]),
           tst.arrays_for(st.just(((3,), (2,))), F), []),
]


def _setitem(a, v):
    y = a * a
    y[1:] = v * 2  # a non-leaf: differentiable, y's grad_fn becomes SetItemBackward
    return y


def _setitem_ref(a, v):
    y = a * a
    y[1:] = v * 2
    return y


def _copy_fill(a, b):
    z = td.zeros(2, dtype=a.dtype)
    z.copy_(b * b)  # z does not require grad; after the copy it does (grad_fn from the copy)
    w = a * 1
    w.fill_(1.5)  # a constant: zero gradient for a
    return CF.concatenate([z, w[:1]])


def _case(spec):
    """Reductions carry (array, axis, keepdims); everything else a tuple of arrays."""
    if hasattr(spec, "case_fn"):
        fn, ref = spec.case_fn, spec.case_ref

        def run(case):
            arr, axes, keep = case
            inner = OpSpec(spec.name, lambda a: fn(a, axis=axes, keepdims=keep),
                           lambda a: ref(a, axis=axes, keepdims=keep), None, spec.covers)
            check_op_spec(inner, (arr,))
        return run
    return lambda arrays: check_op_spec(spec, arrays)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_op_forward_and_gradient(spec, data):
    arrays = data.draw(spec.inputs, label="inputs")
    _case(spec)(arrays[0] if hasattr(spec, "case_fn") else arrays)


SECOND_ORDER = [s for s in SPECS if s.second_order]


@pytest.mark.parametrize("spec", SECOND_ORDER, ids=lambda s: s.name)
@settings(max_examples=5)
@given(data=st.data())
def test_op_second_order(spec, data):
    """d/dx of each op's recorded (create_graph) gradient against central differences of the
    first-order gradient, in float64, on drawn shapes."""
    arrays = data.draw(spec.inputs, label="inputs")
    if hasattr(spec, "case_fn"):
        arr, axes, keep = arrays[0]
        fn = spec.case_fn
        check_op_spec_second_order(OpSpec(spec.name, lambda a: fn(td.exp(a), axis=axes, keepdims=keep), None,
                                          None, spec.covers), (arr,))
    else:
        check_op_spec_second_order(spec, arrays)


@given(_getitem_case())
def test_getitem(case):
    shape, idx = case
    a = np.random.default_rng(0).standard_normal(shape)
    check_op_spec(OpSpec("getitem", lambda t: t[idx], lambda x: x[idx], None, ["GetItem"]), (a,))
    gradgradcheck(lambda t: (t * t)[idx], a)


@pytest.mark.parametrize("stack", [False, True])
@given(data=st.data())
def test_concatenate_stack(stack, data):
    arrays, axis = data.draw(_concat_case(stack))
    fn = CF.stack if stack else CF.concatenate
    ref = np.stack if stack else np.concatenate
    check_op_spec(OpSpec("concat", lambda *ts: fn(list(ts), axis=axis), lambda *a: ref(a, axis=axis),
                         None, ["Stack" if stack else "Concatenate"]), arrays)
    gradgradcheck(lambda *ts: fn([t * t for t in ts], axis=axis), *arrays)


# covered by the two tests above (their specs are built inside the tests), first and second order
EXTRA_COVERED = {"GetItem", "Concatenate", "Stack"}
EXTRA_SECOND_ORDER = {"GetItem", "Concatenate", "Stack"}
