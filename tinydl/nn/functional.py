"""``tinydl.nn.functional``: PyTorch's ``torch.nn.functional`` over tinydl's ops.

Images are NCHW and convolution weights (out, in/groups, kh, kw), as PyTorch; underneath, the one
channels-last implementation (``tinydl.nn.channels_last``, which the Keras-semantics layers use)
runs on a transposed view. The losses are in ``tinydl.nn.loss_functions`` and re-exported here.

>>> import numpy as np, tinydl
>>> from tinydl.nn import functional as F
>>> x = tinydl.Tensor(np.ones((1, 1, 5, 5)))
>>> w = tinydl.Tensor(np.ones((2, 1, 3, 3)))
>>> F.conv2d(x, w, padding=1).shape
(1, 2, 5, 5)
"""
import math
import warnings

import numpy as np

from ..core import functional as T
from ..core.tensor import Tensor, as_tensor
from . import channels_last as CL
from . import ops
from .interpolate import interpolate, upsample  # noqa: F401 - part of nn.functional, as in PyTorch
from .loss_functions import softplus1
from .loss_functions import (  # noqa: F401 - the losses are part of nn.functional, as in PyTorch
    mse_loss, l1_loss, smooth_l1_loss, huber_loss, cross_entropy, nll_loss, binary_cross_entropy,
    binary_cross_entropy_with_logits, kl_div)

__all__ = ["interpolate", "upsample", "relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "mish", "softplus", "hardtanh", "tanh",
           "sigmoid", "logsigmoid", "softmax", "log_softmax", "dropout", "linear", "conv1d", "conv2d",
           "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
           "layer_norm", "group_norm", "embedding", "one_hot", "pad", "scaled_dot_product_attention",
           "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]


def _tuple(v, n, who, arg):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValueError(f"{who}: {arg} must be an int or a tuple of {n} ints, got {v}")
    return v


def _tensor(x, who):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    return x


# ---- activations ------------------------------------------------------------------------------
def relu(input, inplace=False):
    return T.relu(input)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return T.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    x = as_tensor(input)
    # exp of min(x, 0): the unselected branch never overflows (an inf there would make a NaN gradient)
    neg = alpha * (T.exp(T.minimum(x, 0.0)) - 1)
    return T.where(x.data > 0, x, neg)


def gelu(input, approximate="none"):
    return T.gelu(input, approximate=approximate)


def sigmoid(input):
    return T.sigmoid(input)


def tanh(input):
    return T.tanh(input)


def silu(input, inplace=False):
    x = as_tensor(input)
    return x * T.sigmoid(x)




def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    x = as_tensor(input)
    soft = softplus1(x * beta) / beta if beta != 1 else softplus1(x)
    return T.where((x.data * beta) > threshold, x, soft)


def mish(input, inplace=False):
    x = as_tensor(input)
    return x * T.tanh(softplus1(x))


def logsigmoid(input):
    return -softplus1(-as_tensor(input))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clip(x, min_val, max_val); the gradient passes where min_val < x < max_val (strictly)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    x = as_tensor(input)
    lo = T.where(x.data <= min_val, Tensor._wrap(x.xp.asarray(min_val, dtype=x.dtype)), x)
    return T.where(x.data >= max_val, Tensor._wrap(x.xp.asarray(max_val, dtype=x.dtype)), lo)


def _softmax_dim(ndim, name):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _cast_for(x, dtype):
    return x if dtype is None else x.astype(np.dtype(getattr(dtype, "numpy_dtype", dtype)))


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    x = _cast_for(as_tensor(input), dtype)
    dim = _softmax_dim(x.ndim, "softmax") if dim is None else dim
    return T.softmax(x, axis=dim) if x.ndim else T.exp(x - x)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    x = _cast_for(as_tensor(input), dtype)
    dim = _softmax_dim(x.ndim, "log_softmax") if dim is None else dim
    return T.log_softmax(x, axis=dim) if x.ndim else x - x


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: in training zero each element with probability ``p``, scale the rest by
    1/(1-p); the identity otherwise. ``p=1`` gives zeros."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_tensor(input)
    if p == 1 and training:
        return x * 0
    return CL.dropout(x, p, training)


# ---- linear and convolution --------------------------------------------------------------------
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; weight (out_features, in_features)."""
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise RuntimeError(f"linear: mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 1} "
                           f"and {w.shape[1] if w.ndim == 2 else '?'}x{w.shape[0]}) (input shape {tuple(x.shape)}, "
                           f"weight shape {tuple(w.shape)})")
    y = T.matmul(x, T.transpose(w, (1, 0)))
    return y if bias is None else y + bias


def _conv_padding(padding, kernel, stride, dilation, who, n):
    """PyTorch's padding (int, tuple, 'valid', 'same') -> ((lo, hi), ...) per spatial axis."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in range(n))
        if padding != "same":
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{who}: padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    p = _tuple(padding, n, who, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{who}: negative padding is not supported, got {p}")
    return tuple((v, v) for v in p)


def _conv_nd(x, w, bias, stride, padding, dilation, groups, who, n):
    x, w = as_tensor(x), as_tensor(w)
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{who}: expected {n + 1}D (unbatched) or {n + 2}D (batched) input, got input of "
                           f"size {tuple(x.shape)}")
    unbatched = x.ndim == n + 1
    if unbatched:
        x = T.unsqueeze(x, 0)
    groups = int(groups)
    if w.ndim != n + 2:
        raise RuntimeError(f"{who}: weight must be {n + 2}-D (out, in/groups, k...), got shape {tuple(w.shape)}")
    cout, cin_g = w.shape[0], w.shape[1]
    if groups < 1 or x.shape[1] != cin_g * groups or cout % groups:
        raise RuntimeError(f"{who}: given groups={groups}, weight of size {tuple(w.shape)}, expected input "
                           f"{tuple(x.shape)} to have {cin_g * groups} channels, but got {x.shape[1]} channels instead")
    stride, dilation = _tuple(stride, n, who, "stride"), _tuple(dilation, n, who, "dilation")
    pads = _conv_padding(padding, w.shape[2:], stride, dilation, who, n)
    if n == 1:  # a 1-d convolution is a 2-d one over a height of 1
        x, w = T.unsqueeze(x, 2), T.unsqueeze(w, 2)
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    for (lo, hi), k, d, size in zip(pads[-2:], w.shape[2:], dilation, x.shape[2:]):
        if size + lo + hi < d * (k - 1) + 1:
            raise RuntimeError(f"{who}: calculated padded input size per channel: {size + lo + hi}. Kernel size: "
                               f"{d * (k - 1) + 1}. Kernel size can't be greater than actual input size "
                               f"(input shape {tuple(x.shape)})")
    xh = T.transpose(x, (0, 2, 3, 1))            # NCHW -> NHWC
    k = T.transpose(w, (2, 3, 1, 0))             # (O, I, kh, kw) -> (kh, kw, I, O)
    if bias is not None:
        bias = as_tensor(bias)
    if groups == 1 and bias is not None and tuple(bias.shape) == (cout,) and bias.dtype == x.dtype == w.dtype:
        # the bias added in the convolution's own pass (its gradient summed there too)
        y = ops.Conv2DBiasAct.apply(xh, k, bias, stride=stride, padding=pads, dilation=dilation, act="linear")
        bias = None
    elif groups == 1:
        y = ops.Conv2D.apply(xh, k, stride=stride, padding=pads, dilation=dilation)
    else:
        og = cout // groups
        y = T.concatenate([ops.Conv2D.apply(xh[..., g * cin_g:(g + 1) * cin_g], k[..., g * og:(g + 1) * og],
                                            stride=stride, padding=pads, dilation=dilation)
                           for g in range(groups)], axis=3)
    if bias is not None:
        y = y + bias
    y = T.transpose(y, (0, 3, 1, 2))
    if n == 1:
        y = T.squeeze(y, 2)
    return T.squeeze(y, 0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation): input (N, C_in, L), weight (C_out, C_in/groups, k)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation): input (N, C_in, H, W), weight (C_out, C_in/groups, kh, kw)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution: input (N, C_in, H, W), weight (C_in, C_out, kh, kw) (groups=1 only)."""
    if groups != 1:
        raise NotImplementedError("conv_transpose2d: groups > 1 is not implemented in tinydl")
    x, w = as_tensor(input), as_tensor(weight)
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[0]:
        raise RuntimeError(f"conv_transpose2d: expected input (N, {w.shape[0] if w.ndim == 4 else 'C'}, H, W) "
                           f"for weight {tuple(w.shape)}, got input {tuple(x.shape)}")
    stride, dilation = _tuple(stride, 2, "conv_transpose2d", "stride"), _tuple(dilation, 2, "conv_transpose2d", "dilation")
    pad = _tuple(padding, 2, "conv_transpose2d", "padding")
    op = _tuple(output_padding, 2, "conv_transpose2d", "output_padding")
    if any(o >= max(s, d) for o, s, d in zip(op, stride, dilation)):
        raise RuntimeError(f"conv_transpose2d: output padding must be smaller than either stride or dilation, "
                           f"got output_padding={op}, stride={stride}, dilation={dilation}")
    k = T.transpose(w, (2, 3, 1, 0))             # (I, O, kh, kw) -> (kh, kw, O, I)
    y = CL.conv2d_transpose(T.transpose(x, (0, 2, 3, 1)), k, None, stride, pad, op, dilation,
                            name="conv_transpose2d")
    if bias is not None:
        y = y + bias
    return T.transpose(y, (0, 3, 1, 2))


# ---- pooling ---------------------------------------------------------------------------------
def _pool_check(x, kernel, stride, padding, who, ceil_mode, dilation=(1, 1)):
    if ceil_mode:
        raise NotImplementedError(f"{who}: ceil_mode=True is not implemented in tinydl")
    if any(d != 1 for d in dilation):
        raise NotImplementedError(f"{who}: dilation > 1 is not implemented in tinydl")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise RuntimeError(f"{who}: pad should be at most half of effective kernel size, but got pad={padding}, "
                           f"kernel_size={kernel}")
    for size, k, p in zip(x.shape[-2:], kernel, padding):
        if size + 2 * p < k:
            raise RuntimeError(f"{who}: the kernel {kernel} is larger than the padded input of shape {tuple(x.shape)}")


def _as_4d(x, who):
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{who}: expected 3D or 4D input, got input of size {tuple(x.shape)}")
    return (T.unsqueeze(x, 0), True) if x.ndim == 3 else (x, False)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over NCHW windows (padding counts as -inf); the gradient of a window goes to its
    first maximum."""
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not implemented in tinydl")
    x, unbatched = _as_4d(input, "max_pool2d")
    kernel = _tuple(kernel_size, 2, "max_pool2d", "kernel_size")
    stride = kernel if stride is None or stride == [] else _tuple(stride, 2, "max_pool2d", "stride")
    padding = _tuple(padding, 2, "max_pool2d", "padding")
    _pool_check(x, kernel, stride, padding, "max_pool2d", ceil_mode, _tuple(dilation, 2, "max_pool2d", "dilation"))
    xh = T.transpose(x, (0, 2, 3, 1))
    y = ops.MaxPool2D.apply(xh, pool=kernel, stride=stride, padding=tuple((p, p) for p in padding))
    y = T.transpose(y, (0, 3, 1, 2))
    return T.squeeze(y, 0) if unbatched else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(f"max_pool1d: expected 2D or 3D input, got input of size {tuple(x.shape)}")
    k = _tuple(kernel_size, 1, "max_pool1d", "kernel_size")[0]
    s = k if stride is None or stride == [] else _tuple(stride, 1, "max_pool1d", "stride")[0]
    p = _tuple(padding, 1, "max_pool1d", "padding")[0]
    d = _tuple(dilation, 1, "max_pool1d", "dilation")[0]
    y = max_pool2d(T.unsqueeze(x, -2), (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    return T.squeeze(y, -2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling over NCHW windows; with ``count_include_pad`` (PyTorch's default) padded
    zeros count in the divisor."""
    if divisor_override is not None:
        raise NotImplementedError("avg_pool2d: divisor_override is not implemented in tinydl")
    x, unbatched = _as_4d(input, "avg_pool2d")
    kernel = _tuple(kernel_size, 2, "avg_pool2d", "kernel_size")
    stride = kernel if stride is None or stride == [] else _tuple(stride, 2, "avg_pool2d", "stride")
    padding = _tuple(padding, 2, "avg_pool2d", "padding")
    _pool_check(x, kernel, stride, padding, "avg_pool2d", ceil_mode)
    xh = T.transpose(x, (0, 2, 3, 1))
    pads = tuple((p, p) for p in padding)
    if count_include_pad and any(padding):
        xh = T.pad(xh, ((0, 0),) + pads + ((0, 0),))  # explicit zeros: they count
        pads = ((0, 0), (0, 0))
    y = T.transpose(ops.AvgPool2D.apply(xh, pool=kernel, stride=stride, padding=pads), (0, 3, 1, 2))
    return T.squeeze(y, 0) if unbatched else y


def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive windows: output cell i covers [floor(i*H/out), ceil((i+1)*H/out))."""
    x, unbatched = _as_4d(input, "adaptive_avg_pool2d")
    h, w = x.shape[-2:]
    oh, ow = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    oh, ow = h if oh is None else int(oh), w if ow is None else int(ow)
    if (oh, ow) == (1, 1):
        y = T.mean(x, axis=(2, 3), keepdims=True)
    elif h % oh == 0 and w % ow == 0:
        y = avg_pool2d(x, (h // oh, w // ow))
    else:
        rows = []
        for i in range(oh):
            r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
            cols = [T.mean(x[:, :, r0:r1, (j * w) // ow:-((-(j + 1) * w) // ow)], axis=(2, 3), keepdims=True)
                    for j in range(ow)]
            rows.append(T.concatenate(cols, axis=3))
        y = T.concatenate(rows, axis=2)
    return T.squeeze(y, 0) if unbatched else y


# ---- normalization ---------------------------------------------------------------------------
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over every axis but 1. In training the batch statistics normalize and the
    running ones (when given) are updated in place with the unbiased variance:
    ``running = (1 - momentum) * running + momentum * batch``."""
    from .layers.layernorm import normalize
    from .layers.normalization import blend_running_statistics
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input with at least 2 dimensions, got shape {tuple(x.shape)}")
    c = x.shape[1]
    shape = [1] * x.ndim
    shape[1] = c
    axes = tuple(i for i in range(x.ndim) if i != 1)
    if training:
        n = x.data.size // max(c, 1)
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}")
        y = normalize(x, axes, weight, bias, eps, param_shape=shape)
        blend_running_statistics(x, axes, running_mean, running_var, 1 - momentum, momentum, unbiased=True)
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    rm = running_mean.data if isinstance(running_mean, Tensor) else x.xp.asarray(running_mean)
    rv = running_var.data if isinstance(running_var, Tensor) else x.xp.asarray(running_var)
    mean = Tensor._wrap(rm.astype(x.dtype).reshape(shape))
    inv = Tensor._wrap((1 / np.sqrt(rv.astype(np.float64) + eps)).astype(x.dtype).reshape(shape))
    y = (x - mean) * inv
    if weight is not None:
        y = y * T.reshape(weight, shape)
    if bias is not None:
        y = y + T.reshape(bias, shape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` axes (biased variance), then ``* weight + bias``."""
    from .layers.layernorm import layer_norm as impl
    return impl(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each group of ``C / num_groups`` channels (with the spatial axes) per example."""
    from .layers.layernorm import normalize
    x = as_tensor(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected an input (N, C, *) with C divisible by num_groups={num_groups}, "
                           f"got shape {tuple(x.shape)}")
    n, c = x.shape[0], x.shape[1]
    y = T.reshape(normalize(T.reshape(x, (n, num_groups, -1)), (2,), None, None, eps), x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * T.reshape(weight, shape)
    if bias is not None:
        y = y + T.reshape(bias, shape)
    return y


# ---- sparse and shape helpers ------------------------------------------------------------------
def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) at integer ``input``; the ``padding_idx`` row gets no
    gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not implemented in tinydl")
    ids = input.data if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected indices of an integer dtype, got {ids.dtype}")
    num = weight.shape[0]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num):
        raise IndexError(f"embedding: index out of range in self (indices in [{int(ids.min())}, {int(ids.max())}], "
                         f"{num} embeddings)")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    from .layers.embedding import embedding as impl
    return impl(ids, weight, padding_idx)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot codes: shape ``tensor.shape + (num_classes,)`` (inferred as max + 1 for -1)."""
    ids = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if ids.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if ids.size and int(ids.max()) >= num_classes
                           else "Class values must be non-negative.")
    xp = tensor.xp if isinstance(tensor, Tensor) else np
    return Tensor._wrap((ids[..., None] == xp.arange(num_classes)).astype(np.int64))


def pad(input, pad, mode="constant", value=None):
    """``pad`` lists (left, right) pairs starting from the LAST axis, as PyTorch; constant mode only."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not implemented in tinydl (only 'constant')")
    x = as_tensor(input)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"Padding length must be divisible by 2 and at most twice the number of dimensions "
                         f"({x.ndim}), got {len(pad)}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise NotImplementedError("pad: negative padding (cropping) is not implemented in tinydl")
    return T.pad(x, tuple(widths), value=0.0 if value is None else value)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """``softmax(q k^T * scale + mask) v``; a boolean ``attn_mask`` is True where attention is allowed."""
    from .layers.attention import scaled_dot_product_attention as impl
    return impl(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale,
                training=True)
