"""The tour's exercises: each solution (docs/tour/exercises/exNN_*.py) checked by a property-based test.

A reader replaces a solution with their own and runs ``python -m pytest tests/test_tour_exercises.py -k ex03``.
"""
import collections
import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinydl
from tinydl import nn, optim, profiler
from tinydl.core.autograd import OPS, unbroadcast as tinydl_unbroadcast
from tinydl.core.graph_view import graph_parents
from tinydl.testing import gradcheck, strategies as tst

EXERCISES = Path(__file__).resolve().parents[1] / "docs" / "tour" / "exercises"


def exercise(name):
    if str(EXERCISES) not in sys.path:
        sys.path.insert(0, str(EXERCISES))
    before = dict(OPS)
    try:
        return importlib.import_module(name)
    finally:  # an op the reader defines is not one of the library's (test_op_inventory.py)
        OPS.clear()
        OPS.update(before)


def test_every_exercise_has_a_test():
    solutions = sorted(p.stem for p in EXERCISES.glob("ex[0-9][0-9]_*.py"))
    tests = {name.split("_", 2)[1] for name in globals() if name.startswith("test_ex")}
    assert len(solutions) == 10 and {s[:4] for s in solutions} == tests


# ---- 1: the scalar Value ---------------------------------------------------------------------
@given(tst.floats(-2, 2), tst.floats(-2, 2), st.integers(1, 3))
def test_ex01_value_gradients_match_finite_differences(x0, y0, n):
    Value = exercise("ex01_value").Value

    def f_float(x, y):
        return math.tanh(x * y - x ** n) + y - (-x)

    x, y = Value(x0), Value(y0)
    out = (x * y - x ** n).tanh() + y - (-x)
    out.backward()
    assert out.data == pytest.approx(f_float(x0, y0), abs=1e-12)
    h = 1e-6
    dx = (f_float(x0 + h, y0) - f_float(x0 - h, y0)) / (2 * h)
    dy = (f_float(x0, y0 + h) - f_float(x0, y0 - h)) / (2 * h)
    assert x.grad == pytest.approx(dx, abs=1e-6) and y.grad == pytest.approx(dy, abs=1e-6)


# ---- 2: counting ops ---------------------------------------------------------------------------
_OPS = [tinydl.sigmoid, tinydl.tanh, lambda t: t * 2.0, lambda t: t.sum(axis=0, keepdims=True), lambda t: t + t]


@given(st.lists(st.tuples(st.integers(0, len(_OPS) - 1), st.booleans()), min_size=1, max_size=10))
def test_ex02_count_ops_matches_what_the_profiler_saw(program):
    count_ops = exercise("ex02_count_ops").count_ops
    a = tinydl.Tensor(np.full((2, 3), 0.1, np.float32), requires_grad=True)
    values = [a, a * 1.5]
    with profiler.profile() as prof:
        for op, combine in program:
            t = _OPS[op](values[-1])
            values.append(t + values[-2] if combine else t)
    executed = collections.Counter(e.name for e in prof.events if e.kind == "forward")
    expected = count_ops(values[-1])
    # every op executed in the block is in the final graph (nothing is discarded in these programs)
    assert expected == executed + collections.Counter({"Mul": 1})   # a * 1.5 ran before the profiler


# ---- 3: unbroadcast ---------------------------------------------------------------------------
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4), st.integers(0, 2 ** 31))
def test_ex03_unbroadcast_matches_tinydl(shapes, seed):
    unbroadcast = exercise("ex03_unbroadcast").unbroadcast
    grad = np.random.default_rng(seed).standard_normal(shapes.result_shape)
    for shape in shapes.input_shapes:
        mine = unbroadcast(grad, shape)
        assert mine.shape == shape
        np.testing.assert_allclose(mine, tinydl_unbroadcast(grad, shape), rtol=1e-12, atol=1e-12)
        assert mine.sum() == pytest.approx(grad.sum(), rel=1e-9, abs=1e-9)


# ---- 4: softplus ---------------------------------------------------------------------------------
@given(tst.arrays(tst.shapes(), tst.floats(-20, 20)))
def test_ex04_softplus_gradient_and_values(x):
    softplus = exercise("ex04_softplus").softplus
    gradcheck(softplus, x)
    np.testing.assert_allclose(softplus(tinydl.Tensor(x)).detach().numpy(), np.logaddexp(0, x), rtol=1e-12, atol=1e-15)


def test_ex04_softplus_is_finite_and_exact_for_huge_float32_inputs():
    softplus = exercise("ex04_softplus").softplus
    big = tinydl.Tensor(np.array([-1e30, -80.0, 0.0, 80.0, 1e30], np.float32), requires_grad=True)
    y = softplus(big)
    y.sum().backward()
    assert y.dtype == np.float32 and np.isfinite(y.detach().numpy()).all() and np.isfinite(big.grad.detach().numpy()).all()
    np.testing.assert_allclose(y.detach().numpy(), [0.0, np.exp(-80.0), np.log(2), 80.0, 1e30], rtol=1e-6)
    np.testing.assert_allclose(big.grad.detach().numpy(), [0.0, np.exp(-80.0), 0.5, 1.0, 1.0], rtol=1e-6)


# ---- 5: topological order ------------------------------------------------------------------------
@given(st.lists(st.tuples(st.integers(0, len(_OPS) - 1), st.integers(0, 10)), min_size=1, max_size=12))
def test_ex05_topological_order(program):
    topological_order = exercise("ex05_topological_order").topological_order
    a = tinydl.Tensor(np.full(3, 0.2, np.float32), requires_grad=True)
    values = [a, a * 3.0]
    for op, other in program:   # reuse earlier values: shared subexpressions, diamonds
        values.append(_OPS[op](values[-1]) + values[other % len(values)])
    root = values[-1]._creator
    order = topological_order(root)
    assert len({id(f) for f in order}) == len(order)
    reachable, stack = set(), [root]
    while stack:
        f = stack.pop()
        if id(f) not in reachable:
            reachable.add(id(f))
            stack.extend(t._creator for t in graph_parents(f) if t._creator is not None)
    assert {id(f) for f in order} == reachable
    position = {id(f): i for i, f in enumerate(order)}
    for f in order:   # each Function before the Functions that made its inputs
        for t in graph_parents(f):
            if t._creator is not None:
                assert position[id(f)] < position[id(t._creator)]


def test_ex05_topological_order_of_a_long_chain():
    topological_order = exercise("ex05_topological_order").topological_order
    x = tinydl.Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    assert len(topological_order(y._creator)) == 10_000


# ---- 6: im2col convolution -----------------------------------------------------------------------
@st.composite
def _conv_case(draw):
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, k - 2 * padding), 7))
    w = draw(st.integers(max(1, k - 2 * padding), 7))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = draw(tst.arrays((n, h, w, c)))
    kernel = draw(tst.arrays((k, k, c, o)))
    return x, kernel, stride, padding


def _conv_loops(x, w, stride, padding):
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    kh, kw, _, o = w.shape
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            y[:, i, j] = np.tensordot(x[:, i * stride:i * stride + kh, j * stride:j * stride + kw], w, axes=3)
    return y


@given(_conv_case())
def test_ex06_conv_im2col(case):
    conv_im2col = exercise("ex06_conv_im2col").conv_im2col
    x, w, stride, padding = case
    mine = conv_im2col(x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(mine, _conv_loops(x, w, stride, padding), rtol=1e-10, atol=1e-10)
    ref = nn.channels_last.conv2d(tinydl.Tensor(x), tinydl.Tensor(w), stride=stride, padding=padding).detach().numpy()
    np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-10)


# ---- 7: the cost of a convolution ---------------------------------------------------------------------
@given(st.integers(3, 12), st.integers(3, 12), st.integers(1, 4), st.integers(1, 6), st.sampled_from([1, 3, 5]),
       st.integers(1, 3), st.sampled_from(["valid", "same"]), st.booleans())
def test_ex07_conv_cost_matches_summary(h, w, c, filters, kernel, stride, padding, use_bias):
    conv_cost = exercise("ex07_conv_cost").conv_cost
    if padding == "valid" and (kernel > h or kernel > w):
        return
    model = tinydl.keras.Sequential([tinydl.keras.layers.Conv2D(
        filters, kernel, strides=stride, padding=padding, use_bias=use_bias, input_shape=(h, w, c))])
    report = tinydl.summary(model)
    shape, params, macs = conv_cost((h, w, c), filters, kernel, stride, padding, use_bias)
    assert (1,) + shape == report.layers[0].output_shape
    assert params == report.total_params and macs == report.total_macs


# ---- 8: max pooling in Numba ------------------------------------------------------------------------
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 2), st.integers(2, 7), st.integers(2, 7), st.integers(1, 3)),
                  elements=st.sampled_from([-3.0, -1.5, 0.0, 0.5, 2.0])))   # few values: many ties
def test_ex08_maxpool_matches_tinydl(x):
    maxpool2x2 = exercise("ex08_maxpool").maxpool2x2
    np.testing.assert_array_equal(maxpool2x2(x), nn.channels_last.max_pool2d(tinydl.Tensor(x), 2).detach().numpy())


# ---- 9: log-sum-exp ----------------------------------------------------------------------------------
@given(tst.arrays(st.tuples(st.integers(1, 3), st.integers(1, 5)),
                  st.one_of(tst.floats(-50, 50), st.sampled_from([-1e30, 1e30, -np.inf])), dtype=np.float32))
def test_ex09_logsumexp_is_stable(x):
    logsumexp = exercise("ex09_logsumexp").logsumexp
    out = logsumexp(x)
    assert out.shape == x.shape[:1] and out.dtype == np.float32
    x64 = x.astype(np.float64)
    m = x64.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.where(np.isneginf(m[:, 0]), -np.inf, np.log(np.exp(x64 - np.where(np.isneginf(m), 0, m)).sum(-1)) + m[:, 0])
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert not np.isnan(out).any()


# ---- 10: SGD with momentum --------------------------------------------------------------------------
@given(tst.arrays((2, 3), tst.floats(-2, 2)), st.lists(tst.arrays((2, 3), tst.floats(-2, 2)), min_size=1, max_size=4),
       st.floats(1e-3, 0.5), st.floats(0.1, 0.99), st.booleans())
def test_ex10_sgd_momentum_matches_tinydl(p0, grads, lr, momentum, nesterov):
    sgd_momentum_step = exercise("ex10_sgd_momentum").sgd_momentum_step
    p = nn.Parameter(p0.copy())
    opt = optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov)
    mine, velocity = p0.copy(), np.zeros_like(p0)
    for g in grads:
        p.grad = tinydl.Tensor(g)
        opt.step()
        sgd_momentum_step(mine, g, velocity, lr, momentum, nesterov)
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-10, atol=1e-12)
