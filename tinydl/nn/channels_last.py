"""The Keras-semantics layers' computations as plain functions of Tensors (``tinydl.nn.functional``
is PyTorch's face over the same ops).

Images are channels-last (NHWC) unless ``data_format='channels_first'`` (NCHW), in which case
the activations are transposed to NHWC around the one channels-last implementation.

>>> import numpy as np, tinydl
>>> from tinydl.nn import channels_last as F
>>> x = tinydl.Tensor(np.ones((1, 5, 5, 1)))
>>> k = tinydl.Tensor(np.array([[1, -1, 0], [1, -1, 0], [0, 0, 1]], float).reshape(3, 3, 1, 1))
>>> F.conv2d(x, k)[0, :, :, 0]
Tensor([[1., 1., 1.],
        [1., 1., 1.],
        [1., 1., 1.]], dtype=float64)
"""
from ..backends.activations import KERNEL_ACTIVATIONS, TENSOR_ONLY
from ..core import functional as T
from ..core.random import get_rng
from . import activations as _keras_activations
from ..core.tensor import Tensor, as_tensor
from . import ops


def pair(v):
    return (int(v), int(v)) if isinstance(v, (int,)) or getattr(v, "ndim", 1) == 0 else tuple(int(a) for a in v)


def padding_pairs(padding, in_hw, kernel, stride, dilation=(1, 1)):
    """'valid', 'same' (TensorFlow's rule: output = ceil(in / stride), extra pad at the end),
    an int, a pair, or ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0), (0, 0))
        if mode != "same":
            raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
        pads = []
        for n, k, s, d in zip(in_hw, kernel, stride, dilation):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    ph, pw = padding
    return (pair(ph), pair(pw))


def _check_image(x, op, data_format):
    if x.ndim != 4:
        layout = "(N, H, W, C)" if data_format == "channels_last" else "(N, C, H, W)"
        raise ValueError(f"{op}: expected a 4-d image batch {layout}, got shape {tuple(x.shape)}")


def _to_nhwc(x, data_format):
    return x if data_format == "channels_last" else T.transpose(x, (0, 2, 3, 1))


def _from_nhwc(y, data_format):
    return y if data_format == "channels_last" else T.transpose(y, (0, 3, 1, 2))


# Activations fused into the convolution: the kernel ones except sigmoid, whose layers keep their
# logits for a later binary cross-entropy (see layers.base.activate).
FUSABLE_ACTIVATIONS = (None,) + tuple(a for a in KERNEL_ACTIVATIONS if a != "sigmoid")


def conv2d(x, kernel, bias=None, stride=1, padding="valid", dilation=1, data_format="channels_last",
           name="conv2d", activation=None):
    """2-d convolution (cross-correlation). kernel is (KH, KW, C_in, C_out) in both layouts.

    With a bias and an activation in ``FUSABLE_ACTIVATIONS`` this is one op,
    ``ops.Conv2DBiasAct`` (the Numba provider fuses it into the convolution's tiles); other
    activations are applied after (softmax/sigmoid keep their logits, see layers.base.activate).
    """
    x = as_tensor(x)
    _check_image(x, name, data_format)
    xh = _to_nhwc(x, data_format)
    kh, kw, cin, cout = kernel.shape
    if xh.shape[3] != cin:
        raise ValueError(f"{name}: the kernel expects {cin} input channels, the input has {xh.shape[3]} "
                         f"(shape {tuple(x.shape)}, data_format={data_format!r})")
    stride, dilation = pair(stride), pair(dilation)
    pads = padding_pairs(padding, xh.shape[1:3], (kh, kw), stride, dilation)
    for axis, n, k, d, (lo, hi) in ((1, xh.shape[1], kh, dilation[0], pads[0]), (2, xh.shape[2], kw, dilation[1], pads[1])):
        if n + lo + hi < (k - 1) * d + 1:
            raise ValueError(f"{name}: kernel {(kh, kw)} (dilation {dilation}) is larger than the padded input "
                             f"{(xh.shape[1] + sum(pads[0]), xh.shape[2] + sum(pads[1]))} of input shape {tuple(x.shape)}")
    if bias is not None and activation in FUSABLE_ACTIVATIONS:
        y = ops.Conv2DBiasAct.apply(xh, kernel, bias, stride=stride, padding=pads, dilation=dilation,
                                    act=activation or "linear")
    else:
        from .layers.base import activate
        y = activate(ops.Conv2D.apply(xh, kernel, stride=stride, padding=pads, dilation=dilation),
                     activation, bias)
    return _from_nhwc(y, data_format)


def conv2d_transpose(x, kernel, bias=None, stride=1, padding="valid", output_padding=None, dilation=1,
                     data_format="channels_last", name="conv2d_transpose"):
    """Transposed convolution; kernel (KH, KW, C_out, C_in) as Keras's Conv2DTranspose.

    ``padding`` is 'valid' (out = (in-1)*s + k), 'same' (out = in*s) or ints as PyTorch's
    ConvTranspose2d (out = (in-1)*s - 2p + d(k-1) + output_padding + 1).
    """
    x = as_tensor(x)
    _check_image(x, name, data_format)
    xh = _to_nhwc(x, data_format)
    kh, kw, cout, cin = kernel.shape
    if xh.shape[3] != cin:
        raise ValueError(f"{name}: the kernel expects {cin} input channels, the input has {xh.shape[3]}")
    stride, dilation = pair(stride), pair(dilation)
    n, h, w, _ = xh.shape
    out_hw, pads = [], []
    for size, k, s, d, i in ((h, kh, stride[0], dilation[0], 0), (w, kw, stride[1], dilation[1], 1)):
        keff = (k - 1) * d + 1
        op = 0 if output_padding is None else pair(output_padding)[i]
        if padding == "same":
            total = max(keff - s, 0)
            lo, hi = total // 2, total - total // 2
            if output_padding is None:
                op = max(s - keff, 0)
        elif padding == "valid":
            lo = hi = 0
        else:
            lo = hi = pair(padding)[i]
        if op >= s and op > 0:
            raise ValueError(f"{name}: output_padding {op} must be smaller than the stride {s}")
        out = (size - 1) * s + keff - lo - hi + op
        out_hw.append(out)
        # The forward convolution that this op is the adjoint of: it maps the output back onto
        # the input's positions; rows past its last window (output_padding) get no window.
        pads.append((lo, max((size - 1) * s + keff - out - lo, 0)))
    out_shape = (n, out_hw[0], out_hw[1], cout)
    y = ops.Conv2DTranspose.apply(xh, kernel, stride=stride, padding=tuple(pads), dilation=dilation,
                                  out_shape=out_shape)
    if bias is not None:
        y = y + bias
    return _from_nhwc(y, data_format)


def _pool_args(x, pool_size, strides, padding, data_format, name):
    x = as_tensor(x)
    _check_image(x, name, data_format)
    xh = _to_nhwc(x, data_format)
    pool = pair(pool_size)
    stride = pair(strides if strides is not None else pool)
    pads = padding_pairs(padding, xh.shape[1:3], pool, stride)
    if any(xh.shape[1 + i] + sum(pads[i]) < pool[i] for i in range(2)):
        raise ValueError(f"{name}: pool size {pool} is larger than the (padded) input of shape {tuple(x.shape)}")
    return xh, pool, stride, pads


def max_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last", name="max_pool2d"):
    """Max pooling (strides default to the pool size); ties send the gradient to the first max."""
    xh, pool, stride, pads = _pool_args(x, pool_size, strides, padding, data_format, name)
    return _from_nhwc(ops.MaxPool2D.apply(xh, pool=pool, stride=stride, padding=pads), data_format)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last", name="avg_pool2d"):
    """Average pooling; padded positions are not counted (Keras's 'same')."""
    xh, pool, stride, pads = _pool_args(x, pool_size, strides, padding, data_format, name)
    return _from_nhwc(ops.AvgPool2D.apply(xh, pool=pool, stride=stride, padding=pads), data_format)


def linear(x, kernel, bias=None):
    """x @ kernel (+ bias) with kernel (in, out), Keras's layout."""
    y = T.matmul(x, kernel)
    return y if bias is None else y + bias


def bias_act(x, bias, activation):
    """activation(x + bias), fused when the kernel provider has it (relu/sigmoid/tanh/linear)."""
    return ops.BiasAct.apply(x, bias, act=activation)


# The functional forms of the sequence layers live beside their layers, which import
# this module, so they are imported when first called.
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """PyTorch's ``F.layer_norm``: normalize over the trailing ``normalized_shape`` axes."""
    from .layers.layernorm import layer_norm as impl
    return impl(input, normalized_shape, weight, bias, eps)


def embedding(ids, table, padding_idx=None):
    """Functional lookup: rows of ``table`` (V, D) at integer ``ids`` -> (..., D)."""
    from .layers.embedding import embedding as impl
    return impl(ids, table, padding_idx)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, dropout=0.0, training=True,
                                 return_weights=False, attn_mask=None, dropout_p=None, is_causal=None):
    """``softmax(q k^T / sqrt(d) [masked]) v``; see ``tinydl.nn.layers.attention`` for the masks
    (PyTorch's ``attn_mask``, ``dropout_p`` and ``is_causal`` are accepted)."""
    from .layers.attention import scaled_dot_product_attention as impl
    return impl(q, k, v, mask=mask, causal=causal, scale=scale, dropout=dropout, training=training,
                return_weights=return_weights, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)


def dropout(x, rate=0.5, training=True, noise_shape=None, rng=None):
    """Inverted dropout: zero a fraction ``rate`` of the elements and scale the rest by 1/(1-rate).
    ``noise_shape`` (Keras's): the mask's shape, broadcast over the input (None entries take the
    input's size), e.g. ``(batch, 1, features)`` drops the same features at every step. ``rng``: a
    NumPy generator (default: tinydl's)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    x = as_tensor(x)
    if not training or rate == 0:
        return x
    shape = x.shape
    if noise_shape is not None:
        if len(noise_shape) != x.ndim or any(n is not None and n not in (1, d) for n, d in zip(noise_shape, x.shape)):
            raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} does not broadcast to the input's shape "
                             f"{tuple(x.shape)}")
        shape = tuple(d if n is None else n for n, d in zip(noise_shape, x.shape))
    keep = (rng or get_rng()).random(shape) >= rate
    mask = x.xp.asarray(keep, dtype=x.dtype) * x.dtype.type(1 / (1 - rate))
    return x * Tensor._wrap(mask)


_TENSOR_FUNCTIONS = {
    "linear": None, "relu": T.relu, "sigmoid": T.sigmoid, "tanh": T.tanh, "gelu": T.gelu,
    "softmax": lambda x: T.softmax(x, axis=-1),
    "leaky_relu": lambda x: T.leaky_relu(x, 0.2),  # Keras's default slope for the string
}
_TENSOR_FUNCTIONS.update(_keras_activations.BY_NAME)
# Every name of the one table (backends.activations) -> its Tensor function (None: identity).
ACTIVATIONS = {None: None, **{name: _TENSOR_FUNCTIONS[name] for name in KERNEL_ACTIVATIONS + TENSOR_ONLY}}


def get_activation(identifier):
    """A function from a name ('relu', 'softmax', ...), a callable, or None (identity)."""
    if callable(identifier):
        return identifier
    if identifier not in ACTIVATIONS or (identifier is not None and identifier != "linear" and ACTIVATIONS[identifier] is None):
        known = sorted(k for k, v in ACTIVATIONS.items() if v is not None)
        raise ValueError(f"unknown activation {identifier!r}; known: {known + ['linear']}")
    return ACTIVATIONS[identifier]
