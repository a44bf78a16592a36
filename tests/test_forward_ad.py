"""Forward-mode AD (dual tensors): each core op's tangent rule against the double-backward trick
(``autograd.functional.jvp``), in float64, on the same drawn inputs as the op tests."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinydl as td
import tinydl.autograd.forward_ad as fwAD
from tinydl.autograd.functional import jvp

from tests.test_core_ops import SPECS  # noqa: E402  (the op recipes)

FORWARD = [s for s in SPECS if s.name not in ("copy_fill_",)]


def _forward_jvp(fn, arrays, tangents):
    with fwAD.dual_level():
        duals = [fwAD.make_dual(td.Tensor(a), td.Tensor(t)) if t is not None else td.Tensor(a)
                 for a, t in zip(arrays, tangents)]
        out = fn(*duals)
        return out.detach().numpy(), fwAD.unpack_dual(out).tangent


@pytest.mark.parametrize("spec", FORWARD, ids=lambda s: s.name)
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_forward_mode_matches_double_backward(spec, data):
    arrays = data.draw(spec.inputs, label="inputs")
    if hasattr(spec, "case_fn"):
        arr, axes, keep = arrays[0]
        fn, arrays = (lambda a: spec.case_fn(td.exp(a), axis=axes, keepdims=keep)), (arr,)
    else:
        fn = spec.fn
    rng = np.random.default_rng(0)
    wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f" and (spec.wrt is None or i in spec.wrt)]
    tangents = [rng.standard_normal(a.shape) if i in wrt else None for i, a in enumerate(arrays)]
    value, tangent = _forward_jvp(fn, arrays, tangents)
    xs = tuple(td.Tensor(arrays[i]) for i in wrt)

    def f(*ts):
        full = [td.Tensor(a) for a in arrays]
        for i, t in zip(wrt, ts):
            full[i] = t
        return fn(*full)
    out, want = jvp(f, xs, tuple(td.Tensor(tangents[i]) for i in wrt))
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    if tangent is None:
        assert not np.any(want.detach().numpy()), spec.name
    else:
        np.testing.assert_allclose(tangent.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-9, err_msg=spec.name)


def test_forward_mode_errors_and_scope():
    with pytest.raises(RuntimeError, match="dual_level"):
        fwAD.make_dual(td.Tensor([1.0]), td.Tensor([1.0]))
    with fwAD.dual_level():
        x = fwAD.make_dual(td.Tensor(np.ones((1, 4, 4, 1))), td.Tensor(np.ones((1, 4, 4, 1))))
        with pytest.raises(NotImplementedError, match="MaxPool2D has no tangent rule"):
            td.nn.channels_last.max_pool2d(x, 2)
        with pytest.raises(ValueError, match="shape"):
            fwAD.make_dual(td.Tensor([1.0]), td.Tensor([1.0, 2.0]))
    assert fwAD.unpack_dual(x).tangent is None  # dropped when the level ends
