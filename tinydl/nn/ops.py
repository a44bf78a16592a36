"""The neural-network ops: convolution, pooling, fused bias+activation, softmax cross-entropy.

Each is a Function whose forward and backward call the active kernel provider
(``tinydl.backends.provider_for(x)``: the NumPy reference, the Numba kernels or CUDA), all in the
channels-last layout (NHWC images, (KH, KW, C_in, C_out) kernels).
"""
import numpy as np

from ..backends import provider_for, get_array_module
from ..core.autograd import Function
from . import composite


def _contig(a, dtype=None):
    return get_array_module(a).ascontiguousarray(a, dtype=dtype)


def _dtypes(*arrays):
    """``(output dtype, compute dtype)`` for an op's inputs: NumPy's promotion of their dtypes
    (a non-float result gives float32); the providers compute in float32 or float64 only, so
    float16 is computed in float32 and the result rounded back.  Every provider then sees the
    same arrays, and the fast and reference paths agree for every input dtype."""
    out = np.result_type(*[a.dtype for a in arrays])
    out = out if out.kind == "f" else np.dtype(np.float32)
    return out, (out if out in (np.float32, np.float64) else np.dtype(np.float32))


class Conv2D(Function):
    """y = x (*) w, NHWC input, (KH, KW, C, O) kernel, zero padding ((pt, pb), (pl, pr))."""

    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x, w):
        self.provider = provider_for(x)
        out, dt = _dtypes(x, w)
        self.x, self.w = _contig(x, dt), _contig(w, dt)
        self.save_for_backward(x, w)  # an in-place change before backward raises
        y = self.provider.conv2d_forward(self.x, self.w, self.stride, self.padding, self.dilation)
        return y.astype(out, copy=False)

    def composite(self, x, w):
        return composite.conv2d(x, w, self.stride, self.padding, self.dilation)

    def backward(self, g):
        return self.provider.conv2d_backward(
            self.x, self.w, _contig(g, self.x.dtype), self.stride, self.padding, self.dilation,
            need_gx=self.needs_grad[0], need_gw=self.needs_grad[1])


class Conv2DBiasAct(Function):
    """act(conv2d(x, w) + b) as one op; the Numba provider applies the bias and activation tile by
    tile while the output is in cache, the others compose the two primitives."""

    def __init__(self, stride, padding, dilation, act):
        self.stride, self.padding, self.dilation, self.act = stride, padding, dilation, act

    def forward(self, x, w, b):
        self.provider = provider_for(x)
        out, dt = _dtypes(x, w, b)
        self.x, self.w = _contig(x, dt), _contig(w, dt)
        self.y = self.provider.conv2d_bias_act_forward(self.x, self.w, _contig(b, dt), self.act, self.stride,
                                                       self.padding, self.dilation)
        self.save_for_backward(x, w, self.y)
        return self.y.astype(out, copy=False)

    def composite(self, x, w, b):
        return composite.conv2d_bias_act(x, w, b, self.stride, self.padding, self.dilation, self.act)

    def backward(self, g):
        return self.provider.conv2d_bias_act_backward(
            self.x, self.w, self.y, _contig(g, self.x.dtype), self.act, self.stride, self.padding, self.dilation,
            need_gx=self.needs_grad[0], need_gw=self.needs_grad[1], need_gb=self.needs_grad[2])


class Conv2DTranspose(Function):
    """The adjoint of Conv2D: x (N, h, w, C_in) -> (N, H, W, C_out) with kernel (KH, KW, C_out, C_in)."""

    def __init__(self, stride, padding, dilation, out_shape):
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.out_shape = out_shape

    def forward(self, x, w):
        self.provider = provider_for(x)
        out, dt = _dtypes(x, w)
        self.x, self.w = _contig(x, dt), _contig(w, dt)
        gx, _ = self.provider.conv2d_backward(
            None, self.w, self.x, self.stride, self.padding, self.dilation,
            need_gx=True, need_gw=False, x_shape=self.out_shape)
        self.save_for_backward(x, w)
        return gx.astype(out, copy=False)

    def composite(self, x, w):
        return composite.conv2d_transpose(x, w, self.stride, self.padding, self.dilation, self.out_shape)

    def backward(self, g):
        g = _contig(g, self.x.dtype)
        k = self.provider
        gx = k.conv2d_forward(g, self.w, self.stride, self.padding, self.dilation) \
            if self.needs_grad[0] else None
        gw = k.conv2d_backward(g, self.w, self.x, self.stride, self.padding, self.dilation,
                               need_gx=False, need_gw=True)[1] if self.needs_grad[1] else None
        return gx, gw


class MaxPool2D(Function):
    """Max over windows; the gradient goes to the first maximal element of each window."""

    def __init__(self, pool, stride, padding):
        self.pool, self.stride, self.padding = pool, stride, padding

    def forward(self, x):
        self.provider, self.shape = provider_for(x), x.shape
        out, self.dtype = _dtypes(x)
        y, self.argmax = self.provider.maxpool2d_forward(_contig(x, self.dtype), self.pool, self.stride,
                                                         self.padding)
        return y.astype(out, copy=False)

    def composite(self, x):
        return composite.max_pool2d(x, self.argmax, self.pool, self.stride, self.padding)

    def backward(self, g):
        return self.provider.maxpool2d_backward(_contig(g, self.dtype), self.argmax, self.shape, self.pool,
                                               self.stride, self.padding)


class AvgPool2D(Function):
    """Mean over each window's in-bounds elements (padding is not counted)."""

    def __init__(self, pool, stride, padding):
        self.pool, self.stride, self.padding = pool, stride, padding

    def forward(self, x):
        self.provider, self.shape = provider_for(x), x.shape
        out, self.dtype = _dtypes(x)
        y = self.provider.avgpool2d_forward(_contig(x, self.dtype), self.pool, self.stride, self.padding)
        return y.astype(out, copy=False)

    def composite(self, x):
        return composite.avg_pool2d(x, self.pool, self.stride, self.padding)

    def backward(self, g):
        return self.provider.avgpool2d_backward(_contig(g, self.dtype), self.shape, self.pool, self.stride, self.padding)


class BiasAct(Function):
    """act(x + b) in one pass; act is 'linear', 'relu', 'sigmoid' or 'tanh'."""

    def __init__(self, act):
        self.act = act

    def forward(self, x, b):
        self.provider = provider_for(x)
        out, dt = _dtypes(x, b)
        self.y = self.provider.bias_act_forward(_contig(x, dt), _contig(b, dt), self.act)
        self.save_for_backward(self.y)
        return self.y.astype(out, copy=False)

    def composite(self, x, b):
        return composite.bias_act(x, b, self.act)

    def backward(self, g):
        return self.provider.bias_act_backward(self.y, _contig(g, self.y.dtype), self.act)


class SoftmaxCrossEntropy(Function):
    """Per-row -log softmax(logits)[label], fused; finite for logits of +-1e4."""

    def forward(self, logits, labels):
        self.provider = provider_for(logits)
        self.labels = labels
        out, dt = _dtypes(logits)
        loss, self.probs = self.provider.softmax_xent_forward(_contig(logits, dt), labels)
        return loss.astype(out, copy=False)

    def composite(self, logits, labels):
        return composite.softmax_cross_entropy(logits, labels)

    def backward(self, g):
        return self.provider.softmax_xent_backward(self.probs, self.labels, _contig(g, self.probs.dtype)), None
