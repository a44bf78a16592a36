"""Graph mechanics: deep chains, accumulation, no_grad, freed graphs, dtypes, errors, stability."""
import gc
import weakref

import numpy as np
import pytest

import tinydl as td
from tinydl.testing import gradcheck, GradcheckError


def test_chain_of_10000_ops_backpropagates_without_recursion():
    x = td.Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_gradients_accumulate_when_a_tensor_is_reused():
    x = td.Tensor([2.0, 3.0], requires_grad=True)
    y = (x * x + x * 3.0 + x).sum()  # d/dx = 2x + 4
    y.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [8.0, 10.0])
    (x * 2.0).sum().backward()  # a second backward accumulates into .grad
    np.testing.assert_allclose(x.grad.detach().numpy(), [10.0, 12.0])


def test_diamond_graph_sums_both_paths():
    x = td.Tensor([1.5], requires_grad=True, dtype=np.float64)
    a = x * 2.0
    y = (a * a + a).sum()  # 4x^2 + 2x -> 8x + 2
    y.backward()
    assert x.grad.item() == pytest.approx(14.0)


def test_no_grad_builds_no_graph_as_context_and_decorator():
    x = td.Tensor([1.0], requires_grad=True)
    with td.no_grad():
        y = x * 2
    assert not y.requires_grad and y._creator is None

    @td.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad
    assert (x * 2).requires_grad


def test_backward_through_freed_graph_raises_and_retain_graph_allows_it():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2 + 4, 4 + 8])


def test_nonscalar_backward_needs_grad():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(td.Tensor([1.0, 0.5]))
    np.testing.assert_allclose(x.grad.detach().numpy(), [2.0, 1.0])


def test_integer_tensors_never_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        td.Tensor([1, 2], requires_grad=True)
    labels = td.Tensor([1, 2])
    assert labels.dtype == np.int64 and not labels.requires_grad


def test_dtype_rules():
    f32 = td.Tensor([1.0, 2.0])
    assert f32.dtype == np.float32
    assert (f32 * 2.5).dtype == np.float32          # python scalars are weak
    assert (f32 + np.ones(2)).dtype == np.float64   # numpy promotion between arrays
    assert (td.Tensor([1, 2]) * 0.5).dtype == np.float32  # int tensor with a python float: PyTorch's default
    assert (td.Tensor([1, 2]) * f32).dtype == np.float32  # across kinds the float operand's dtype wins
    assert (td.Tensor([1, 2]) / td.Tensor([2, 2])).dtype == np.float32  # true division of integers
    assert (td.Tensor([1, 2]) + 1).dtype == np.int64
    assert td.Tensor(np.zeros(2, np.float64)).dtype == np.float64  # numpy arrays keep their dtype
    x = td.Tensor([1.0], requires_grad=True)
    (x * td.Tensor(np.ones(1))).sum().backward()
    assert x.grad.dtype == np.float32  # gradients take their input's dtype


def test_reflected_operators_with_numpy_and_scalars():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) - x
    assert isinstance(y, td.Tensor)
    z = (2.0 / x + 1 - x ** 2 + np.ones(2) @ x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), -2 / np.array([1.0, 4.0]) - 2 * np.array([1.0, 2.0]) + 2)


def test_tensor_basics():
    t = td.Tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.T.shape == (3, 2)
    assert np.asarray(t).sum() == 15
    assert td.Tensor([[4.0]]).item() == 4.0
    assert "Tensor(" in repr(t) and "float64" in repr(t)
    d = td.Tensor([1.0], requires_grad=True) * 2
    assert d.detach()._creator is None and not d.detach().requires_grad
    assert (t.argmax(axis=1).detach().numpy() == [2, 2]).all()
    assert not (t > 2).requires_grad


def test_max_splits_gradient_equally_among_ties():
    x = td.Tensor([1.0, 3.0, 3.0, 0.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [0, 0.5, 0.5, 0])


def test_maximum_splits_ties_between_inputs():
    a = td.Tensor([1.0, 2.0], requires_grad=True)
    b = td.Tensor([1.0, 0.0], requires_grad=True)
    td.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.detach().numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.detach().numpy(), [0.5, 0.0])


def test_getitem_repeated_indices_accumulate():
    x = td.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [3, 0, 1])


@pytest.mark.parametrize("v", [1e4, -1e4])
def test_softmax_family_stays_finite_for_huge_logits(v):
    x = td.Tensor([[v, 0.0, -v], [v, v, 0.0]], requires_grad=True)
    for out in (td.softmax(x), td.log_softmax(x), td.logsumexp(x, axis=1), td.sigmoid(x)):
        assert np.isfinite(out.detach().numpy()).all()
        x.grad = None
        out.sum().backward()
        assert np.isfinite(x.grad.detach().numpy()).all()


def test_clear_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: \(2, 3\) @ \(4, 5\)"):
        td.Tensor(np.ones((2, 3))) @ td.Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        td.Tensor(np.ones((2, 3))) + td.Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"reshape: shape .*\[4, 2\].* is invalid for input of size 6"):
        td.Tensor(np.ones(6)).reshape(4, 2)


def test_graph_is_freed_when_dropped():
    x = td.Tensor(np.ones(1000), requires_grad=True)
    y = (x * 2).exp()
    fn_ref = weakref.ref(y._creator)
    del y
    gc.disable()
    try:
        assert fn_ref() is None  # freed by reference counting alone: no cycles
    finally:
        gc.enable()


def test_gradcheck_reports_input_index_and_values():
    bad = td.Function  # a deliberately wrong op

    class WrongSquare(bad):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return g * self.a  # should be 2 * a

    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2,\)\) at index \(\d,\): analytic .* vs numeric"):
        gradcheck(lambda x: WrongSquare.apply(x), np.array([1.0, 2.0]))
    assert "WrongSquare" not in td.core.autograd.OPS  # only tinydl's own ops join the inventory


def test_detect_anomaly_names_op_and_user_line():
    x = td.Tensor([-1.0, 1.0], requires_grad=True)
    with td.detect_anomaly():
        with pytest.raises(td.AnomalyError, match=r"Log produced NaN.*test_core_autograd.py:\d+"):
            td.log(x)
    with td.detect_anomaly():
        y = td.sqrt(td.Tensor([0.0, 1.0], requires_grad=True))
        with pytest.raises(td.AnomalyError, match="Sqrt produced NaN or inf in its backward"):
            y.sum().backward()
