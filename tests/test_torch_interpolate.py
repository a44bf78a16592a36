"""F.interpolate / nn.Upsample against PyTorch 2.13 (tests/golden/record_torch_interpolate.py),
their gradients against finite differences (first and second order), and PyTorch's errors."""
import json
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl
from tinydl import nn
from tinydl.nn import functional as F
from tinydl.testing import gradcheck, gradgradcheck

HERE = os.path.join(os.path.dirname(__file__), "golden")
G = np.load(os.path.join(HERE, "torch_interpolate.npz"), allow_pickle=False)
META = json.load(open(os.path.join(HERE, "torch_interpolate.json")))


def _kwargs(name):
    kw = dict(META["cases"][name])
    for key in ("size", "scale_factor"):
        if isinstance(kw.get(key), list):
            kw[key] = tuple(kw[key])
    return kw


def test_recorded_with_the_pinned_pytorch():
    assert str(G["__version__"]) == META["__version__"] == "2.13.0+cpu"


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("name", sorted(META["cases"]))
def test_interpolate_matches_pytorch(name, dtype):
    x = tinydl.Tensor(G[f"{name}|{dtype}|x"], requires_grad=True)
    y = F.interpolate(x, **_kwargs(name))
    want = G[f"{name}|{dtype}|y"]
    assert y.shape == want.shape and y.dtype == x.dtype
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "f64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), want, **tol)
    (y * tinydl.Tensor(G[f"{name}|{dtype}|g"])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), G[f"{name}|{dtype}|gx"], **tol)


def test_upsample_modules_are_interpolate():
    x = tinydl.Tensor(G["bilinear_align|f64|x"])
    np.testing.assert_allclose(nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True)(x).numpy(),
                               G["bilinear_align|f64|y"], rtol=1e-12)
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(size=(7, 9))(x).numpy(), G["bilinear_align|f64|y"],
                               rtol=1e-12)
    x2 = tinydl.Tensor(G["nearest_2d_scale2|f64|x"])
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(scale_factor=2)(x2).numpy(), G["nearest_2d_scale2|f64|y"])
    assert nn.Upsample(scale_factor=2).state_dict() == {}


@given(mode=st.sampled_from(["nearest", "nearest-exact", "bilinear", "bilinear-align"]),
       h=st.integers(1, 4), w=st.integers(1, 4), oh=st.integers(1, 6), ow=st.integers(1, 6),
       seed=st.integers(0, 2 ** 16))
def test_interpolate_gradients_first_and_second_order(mode, h, w, oh, ow, seed):
    x = tinydl.Tensor(np.random.default_rng(seed).normal(size=(2, 1, h, w)), requires_grad=True)
    kw = dict(size=(oh, ow), mode=mode.replace("-align", ""))
    if mode == "bilinear-align":
        kw["align_corners"] = True

    def fn(t):
        y = F.interpolate(t, **kw)
        return y * y  # nonlinear, so the second derivative is not trivially zero

    assert gradcheck(fn, x)
    assert gradgradcheck(fn, x)


def test_errors_follow_pytorch():
    x = tinydl.ones(1, 1, 4, 4)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, size=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 4D input, but linear mode needs 3D input"):
        F.interpolate(x, size=2, mode="linear")
    with pytest.raises(NotImplementedError, match=r"Only 3D, 4D and 5D input"):
        F.interpolate(tinydl.ones(4, 4), size=2)
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, size=2, mode="bicubic")
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(x, size=2, mode="bilinear", antialias=True)
    with pytest.raises(ValueError, match="mode must be one of"):
        F.interpolate(x, size=2, mode="cubic")
    with pytest.raises(RuntimeError, match="floating-point"):
        F.interpolate(tinydl.ones(1, 1, 4, 4, dtype=tinydl.int64), size=2, mode="bilinear")


def test_nan_propagates():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.nan
    y = F.interpolate(tinydl.Tensor(x), size=(6, 6), mode="bilinear").numpy()
    assert np.isnan(y).any() and np.isnan(y[0, 0, 2:4, 2:4]).all()
