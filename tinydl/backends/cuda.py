"""The GPU kernel provider: the functions of ``interface.KernelProvider`` on CUDA kernels.

The functions listed in ``DELEGATED`` have no CUDA kernel of their own: the reference's
array-module-generic NumPy code runs them on CuPy arrays (``interface.bind`` does the delegation).

Data movement (im2col, col2im, pooling, bias+activation, softmax cross-entropy, the fused
optimizer steps) runs in hand-written CUDA kernels, the ``.cu`` files of ``tinydl.kernels.cuda``
(``kernels/cuda/`` in the source tree); matrix products go to cuBLAS through ``cupy.matmul``.
See ``reference`` for the conventions; in particular ``maxpool2d_forward``'s ``argmax`` is the
int32 offset ``a*PW + b`` inside the window, exactly as in the reference.

Importing this module needs neither CuPy nor a GPU: CuPy is imported on the first call, which
raises ``tinydl.backends.BackendUnavailable`` (naming ``pip install "tinydl[gpu]"``) if it is
missing.  Each ``.cu`` file is compiled once per process by ``cupy.RawModule`` (NVRTC, options
``--std=c++17``), with ``common.cu`` (shared device helpers) prepended, and cached in
``_MODULES``; CuPy also caches the binaries on disk.  :func:`kernel_source` gives the exact text
that is compiled (the tests compile the same text with ``nvcc``).

Every kernel is a grid-stride loop with 64-bit index math.  The backward passes (col2im, pooling)
are gathers (one thread per input element), so they are deterministic and need no atomics nor
a zero fill; the bias gradient is a two-stage fixed-order reduction.

Launch counting: :func:`launch_count` is the number of GPU kernels the functions here have
launched since :func:`reset_launch_count`: each RawKernel launch and each ``cupy.matmul`` counts
1, and so does a device-side copy made to convert an argument that is not C-contiguous or not of
the needed dtype.  Host-to-device uploads (the optimizer's pointer table) are copies, not
launches, and are not counted.  Per call, with contiguous inputs of the right dtype:
conv2d_forward 2 (1 for a 1x1/stride-1/unpadded kernel), conv2d_backward 2 per gradient asked
(1 for gx of such a 1x1 kernel), pooling 1, bias_act_forward 1, bias_act_backward 2,
softmax_xent_forward/backward 1, adam_step/sgd_step 1 per dtype present among the parameters.

Fused optimizer design: a multi-tensor-apply kernel over pointer tables.  The arrays in the lists
stay wherever they are (no flat buffer is needed); each call builds one int64 table holding the
device pointers of every (param, grad, state...) tuple, the sizes, and a chunk map (tensor id,
start) that splits every tensor into chunks of ``OPTIM_CHUNK`` elements; the table is uploaded
(cached by content, so an unchanged set of arrays is not re-uploaded) and ONE kernel launch walks
all chunks.  Parameters and state must be C-contiguous CuPy arrays of float32/float64; a list
mixing both dtypes takes one launch per dtype.
"""
import collections
import importlib.resources
import math

import numpy as np

from tinydl.backends.activations import KERNEL_CODES as ACT_CODES
from tinydl.backends.activations import kernel_code as _act_code
from tinydl.backends.interface import compose_conv2d_bias_act
from tinydl.backends.reference import ACTIVATIONS, window_geometry  # noqa: F401

# No CUDA kernel: CuPy runs the reference's code for these (see the module docstring).
DELEGATED = (
    "gelu_tanh_forward", "gelu_tanh_backward",
    "layernorm_forward", "layernorm_backward", "embedding_backward",
    "masked_softmax_forward", "softmax_backward",
    "rnn_scan_forward", "rnn_scan_backward", "lstm_scan_forward", "lstm_scan_backward",
    "gru_scan_forward", "gru_scan_backward",
    # int8 inference: the reference's array code (integer matmul) run by CuPy; not yet run on a GPU
    "quantize_int8", "int8_matmul", "int8_conv2d", "dequantize_bias_act",
    "int8_matmul_bias_act", "int8_conv2d_bias_act", "int8_conv2d_requant",
)

# ----------------------------------------------------------------------------- sources and kernels

#: Kernel base names per source file (``kernels/cuda/<stem>.cu``); each exists as ``<base>_f32``
#: and ``<base>_f64`` (``extern "C"``).  ``_launch`` only accepts names listed here, and the tests
#: check every one is defined in its source, so a typo is caught without a GPU.
KERNELS = {
    "conv": ("im2col_nhwc", "col2im_nhwc"),
    "pool": ("maxpool_fwd_nhwc", "maxpool_bwd_nhwc", "avgpool_fwd_nhwc", "avgpool_bwd_nhwc"),
    "activation": ("bias_act_fwd", "bias_act_bwd_partial", "bias_act_bwd_final"),
    "softmax_xent": ("softmax_xent_fwd", "softmax_xent_bwd"),
    "optim": ("adam_multi", "sgd_multi"),
}
COMMON = "common"  # common.cu: device helpers prepended to every other source
NVRTC_OPTIONS = ("--std=c++17",)
DTYPE_SUFFIX = {"float32": "f32", "float64": "f64"}

BLOCK = 256           # threads per block of the element-wise / gather kernels
MAX_BLOCKS = 8192     # grid-stride loops cover the rest
OPTIM_CHUNK = 16384   # elements per chunk of the multi-tensor optimizer kernels
_TABLE_CACHE_SIZE = 32

_MODULES = {}         # stem -> cupy.RawModule
_FUNCTIONS = {}       # full kernel name -> cupy.RawKernel
_TABLES = collections.OrderedDict()  # optimizer table content -> device array (LRU)
_launches = 0
_cp = None


def kernel_names(stem):
    """The full ``extern "C"`` names (``<base>_f32``, ``<base>_f64``) the wrapper uses from a file."""
    return [f"{base}_{sfx}" for base in KERNELS[stem] for sfx in DTYPE_SUFFIX.values()]


def raw_source(stem):
    """The text of ``kernels/cuda/<stem>.cu`` (package data of ``tinydl.kernels.cuda``)."""
    return importlib.resources.files("tinydl.kernels.cuda").joinpath(f"{stem}.cu").read_text()


def kernel_source(stem):
    """The exact CUDA C++ compiled for ``<stem>.cu``: ``common.cu`` followed by the file."""
    if stem == COMMON:
        return raw_source(COMMON)
    return raw_source(COMMON) + "\n" + raw_source(stem)


def _cupy():
    global _cp
    if _cp is None:
        from tinydl.backends import require_cupy  # raises BackendUnavailable naming tinydl[gpu]

        _cp = require_cupy()
    return _cp


def _module(stem):
    mod = _MODULES.get(stem)
    if mod is None:
        mod = _cupy().RawModule(code=kernel_source(stem), options=NVRTC_OPTIONS)
        _MODULES[stem] = mod
    return mod


def _kernel(stem, base, dtype):
    if base not in KERNELS.get(stem, ()):
        raise KeyError(f"kernel {base!r} is not listed for {stem}.cu in KERNELS")
    name = f"{base}_{DTYPE_SUFFIX[np.dtype(dtype).name]}"
    fn = _FUNCTIONS.get(name)
    if fn is None:
        fn = _module(stem).get_function(name)
        _FUNCTIONS[name] = fn
    return fn


def _launch(stem, base, dtype, grid, block, args):
    """Launch ``<base>_<f32|f64>`` of ``<stem>.cu``; counts one launch."""
    global _launches
    _kernel(stem, base, dtype)(grid, block, args)
    _launches += 1


def _count(n=1):
    global _launches
    _launches += n


def launch_count():
    """GPU kernels launched by this provider since the last :func:`reset_launch_count`."""
    return _launches


def reset_launch_count():
    global _launches
    _launches = 0


def _i(v):
    return np.int64(v)


def _grid(total, block=BLOCK):
    return (int(max(1, min(MAX_BLOCKS, -(-int(total) // block)))),)


def _elementwise(stem, base, dtype, total, args):
    """Launch a grid-stride kernel over ``total`` elements (nothing to do when it is 0)."""
    if total > 0:
        _launch(stem, base, dtype, _grid(total), (BLOCK,), args)


# ----------------------------------------------------------------------------- argument helpers


def _as_float(a, dtype=None):
    """C-contiguous float32/float64 CuPy array (``dtype`` if given, else ``a``'s own; others ->
    float64).  A device-side conversion counts as one launch."""
    cp = _cupy()
    if not isinstance(a, cp.ndarray):
        a = np.asarray(a)
        if dtype is None:
            dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
        return cp.asarray(np.ascontiguousarray(a, dtype=dtype))
    if dtype is None:
        dtype = a.dtype if a.dtype in (np.float32, np.float64) else np.float64
    dtype = np.dtype(dtype)
    if a.dtype == dtype and a.flags.c_contiguous:
        return a
    _count()
    return cp.ascontiguousarray(a, dtype=dtype)


def _as_index(a, dtype):
    """C-contiguous integer CuPy array of ``dtype`` (labels: int64, argmax: int32)."""
    cp = _cupy()
    if not isinstance(a, cp.ndarray):
        return cp.asarray(np.ascontiguousarray(a, dtype=dtype))
    if a.dtype == dtype and a.flags.c_contiguous:
        return a
    _count()
    return cp.ascontiguousarray(a, dtype=dtype)


def _matmul(a, b):
    _count()
    return _cupy().matmul(a, b)


# ----------------------------------------------------------------------------- convolution


def _is_plain_1x1(k, s, p):
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = k, s, p
    return kh == kw == sh == sw == 1 and pt == pb == pl == pr == 0


def _im2col(x, k, s, p, d, out_hw):
    """The column matrix ``(N*OH*OW, KH*KW*C)`` (a free reshape for a plain 1x1 kernel)."""
    cp = _cupy()
    n, h, w, c = x.shape
    (kh, kw), (oh, ow) = k, out_hw
    if _is_plain_1x1(k, s, p):
        return x.reshape(n * h * w, c)
    cols = cp.empty((n * oh * ow, kh * kw * c), dtype=x.dtype)
    (sh, sw), ((pt, _), (pl, _)), (dh, dw) = s, p, d
    _elementwise("conv", "im2col_nhwc", x.dtype, cols.size,
                 (x, cols, *map(_i, (n, h, w, c, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow))))
    return cols


def conv2d_forward(x, w, stride, padding, dilation):
    """2-d cross-correlation, no bias: ``x (N,H,W,C)``, ``w (KH,KW,C,O)`` -> ``y (N,OH,OW,O)``."""
    x = _as_float(x)
    kh, kw, c, o = w.shape
    if x.shape[3] != c:
        raise ValueError(f"x has {x.shape[3]} channels, kernel expects {c}")
    k, s, p, d, (oh, ow) = window_geometry(x.shape, (kh, kw), stride, padding, dilation)
    w2 = _as_float(w, x.dtype).reshape(kh * kw * c, o)
    cols = _im2col(x, k, s, p, d, (oh, ow))
    y = _matmul(cols, w2)
    return y.reshape(x.shape[0], oh, ow, o)


def conv2d_backward(x, w, gy, stride, padding, dilation, need_gx=True, need_gw=True, x_shape=None):
    """Gradients of :func:`conv2d_forward`: ``(gx, gw)``, ``None`` for what is not needed.

    ``x`` may be ``None`` when only ``gx`` is wanted; then pass ``x_shape``.  Outputs take the
    dtype of ``gy``.  ``gw = cols^T @ gy``; ``gx = col2im(gy @ w^T)`` (a gather kernel).
    """
    cp = _cupy()
    if x is not None:
        x_shape = x.shape
    elif need_gw:
        raise ValueError("conv2d_backward: x is needed for the kernel gradient")
    elif x_shape is None:
        raise ValueError("conv2d_backward: pass x or x_shape")
    x_shape = tuple(int(v) for v in x_shape)
    gy = _as_float(gy)
    kh, kw, c, o = w.shape
    k, s, p, d, (oh, ow) = window_geometry(x_shape, (kh, kw), stride, padding, dilation)
    n = x_shape[0]
    if tuple(gy.shape) != (n, oh, ow, o):
        raise ValueError(f"gy has shape {tuple(gy.shape)}, expected {(n, oh, ow, o)}")
    gy2 = gy.reshape(n * oh * ow, o)
    gx = gw = None
    if need_gw:
        cols = _im2col(_as_float(x, gy.dtype), k, s, p, d, (oh, ow))
        gw = cp.ascontiguousarray(_matmul(cols.T, gy2)).reshape(kh, kw, c, o)
    if need_gx:
        w2 = _as_float(w, gy.dtype).reshape(kh * kw * c, o)
        gcols = _matmul(gy2, w2.T)
        if _is_plain_1x1(k, s, p):
            gx = gcols.reshape(x_shape)
        else:
            gx = cp.empty(x_shape, dtype=gy.dtype)
            _, h, wd, _ = x_shape
            (sh, sw), ((pt, _), (pl, _)), (dh, dw) = s, p, d
            _elementwise("conv", "col2im_nhwc", gy.dtype, gx.size,
                         (gcols, gx, *map(_i, (n, h, wd, c, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow))))
    return gx, gw


# ----------------------------------------------------------------------------- pooling


def _pool_geometry(x_shape, pool, stride, padding):
    """``((OH, OW), kernel args N, H, W, C, PH, PW, sh, sw, pt, pl, OH, OW as int64)``."""
    (ph, pw), (sh, sw), ((pt, _), (pl, _)), _, (oh, ow) = window_geometry(
        x_shape, pool, stride, padding, 1)
    n, h, w, c = x_shape
    return (oh, ow), tuple(map(_i, (n, h, w, c, ph, pw, sh, sw, pt, pl, oh, ow)))


def maxpool2d_forward(x, pool, stride, padding):
    """Max pooling: ``(y, argmax)``, both ``(N, OH, OW, C)``; argmax int32 window offsets."""
    cp = _cupy()
    x = _as_float(x)
    (oh, ow), geo = _pool_geometry(x.shape, pool, stride, padding)
    shape = (x.shape[0], oh, ow, x.shape[3])
    y = cp.empty(shape, dtype=x.dtype)
    argmax = cp.empty(shape, dtype=cp.int32)
    _elementwise("pool", "maxpool_fwd_nhwc", x.dtype, y.size, (x, y, argmax, *geo))
    return y, argmax


def maxpool2d_backward(gy, argmax, x_shape, pool, stride, padding):
    """Route each output gradient to the pixel its ``argmax`` names; overlapping windows add up."""
    cp = _cupy()
    x_shape = tuple(int(v) for v in x_shape)
    gy = _as_float(gy)
    argmax = _as_index(argmax, np.int32)
    (oh, ow), geo = _pool_geometry(x_shape, pool, stride, padding)
    expected = (x_shape[0], oh, ow, x_shape[3])
    if tuple(gy.shape) != expected or tuple(argmax.shape) != expected:
        raise ValueError(f"gy {tuple(gy.shape)} / argmax {tuple(argmax.shape)}: expected {expected}")
    gx = cp.empty(x_shape, dtype=gy.dtype)
    _elementwise("pool", "maxpool_bwd_nhwc", gy.dtype, gx.size, (gy, argmax, gx, *geo))
    return gx


def avgpool2d_forward(x, pool, stride, padding):
    """Average pooling over each window's in-bounds pixels only (padding is not counted)."""
    cp = _cupy()
    x = _as_float(x)
    (oh, ow), geo = _pool_geometry(x.shape, pool, stride, padding)
    y = cp.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    _elementwise("pool", "avgpool_fwd_nhwc", x.dtype, y.size, (x, y, *geo))
    return y


def avgpool2d_backward(gy, x_shape, pool, stride, padding):
    """Each output's gradient, divided by its count, goes to every in-bounds pixel of its window."""
    cp = _cupy()
    x_shape = tuple(int(v) for v in x_shape)
    gy = _as_float(gy)
    (oh, ow), geo = _pool_geometry(x_shape, pool, stride, padding)
    expected = (x_shape[0], oh, ow, x_shape[3])
    if tuple(gy.shape) != expected:
        raise ValueError(f"gy has shape {tuple(gy.shape)}, expected {expected}")
    gx = cp.empty(x_shape, dtype=gy.dtype)
    _elementwise("pool", "avgpool_bwd_nhwc", gy.dtype, gx.size, (gy, gx, *geo))
    return gx


# ----------------------------------------------------------------------------- bias + activation


def bias_act_forward(x, b, act):
    """``act(x + b)`` with ``x (..., C)``, ``b (C,)``; act in linear, relu, sigmoid, tanh."""
    cp = _cupy()
    code = _act_code(act)
    x = _as_float(x)
    c = x.shape[-1]
    b = _as_float(b, x.dtype)
    if b.size != c:
        raise ValueError(f"bias has {b.size} entries, x has {c} channels")
    y = cp.empty_like(x)
    _elementwise("activation", "bias_act_fwd", x.dtype, x.size,
                 (x, b, y, _i(x.size), _i(c), _i(code)))
    return y


def bias_act_backward(y, gy, act):
    """From the forward OUTPUT ``y``: ``(gx, gb)``, ``gb`` summed over all leading axes."""
    cp = _cupy()
    code = _act_code(act)
    y = _as_float(y)
    gy = _as_float(gy, y.dtype)
    if gy.shape != y.shape:
        raise ValueError(f"gy has shape {tuple(gy.shape)}, y has {tuple(y.shape)}")
    c = y.shape[-1]
    rows = y.size // c if c else 0
    gx = cp.empty_like(y)
    if rows == 0 or c == 0:
        return gx, cp.zeros(c, dtype=y.dtype)
    col_tiles = -(-c // 32)
    n_chunks = max(1, min(-(-rows // 64), max(1, 4096 // col_tiles), 65535))
    rows_per_chunk = -(-rows // n_chunks)
    n_chunks = -(-rows // rows_per_chunk)
    partial = cp.empty((n_chunks, c), dtype=cp.float64)
    gb = cp.empty(c, dtype=y.dtype)
    _launch("activation", "bias_act_bwd_partial", y.dtype, (col_tiles, n_chunks), (32, 8),
            (y, gy, gx, partial, _i(rows), _i(c), _i(rows_per_chunk), _i(code)))
    _elementwise("activation", "bias_act_bwd_final", y.dtype, c,
                 (partial, gb, _i(n_chunks), _i(c)))
    return gx, gb


# ----------------------------------------------------------------------------- softmax + cross-entropy


def softmax_xent_forward(logits, labels):
    """Per-sample cross-entropy of softmax(logits): ``(loss (N,), probs (N, K))``."""
    cp = _cupy()
    logits = _as_float(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, K), got shape {tuple(logits.shape)}")
    n, k = logits.shape
    labels = _as_index(labels, np.int64)
    if labels.shape != (n,):
        raise ValueError(f"labels has shape {tuple(labels.shape)}, expected {(n,)}")
    loss = cp.empty(n, dtype=logits.dtype)
    probs = cp.empty_like(logits)
    if n and k:
        threads = 32
        while threads < min(k, 256):
            threads *= 2  # a power of two (the tree reduction needs it), at most 256
        _launch("softmax_xent", "softmax_xent_fwd", logits.dtype, (min(n, 65535),), (threads,),
                (logits, labels, loss, probs, _i(n), _i(k)))
    return loss, probs


def softmax_xent_backward(probs, labels, gloss):
    """``(probs - onehot(labels)) * gloss[:, None]``; dtype of ``probs``."""
    cp = _cupy()
    probs = _as_float(probs)
    n, k = probs.shape
    labels = _as_index(labels, np.int64)
    gloss = _as_float(gloss, probs.dtype)
    g = cp.empty_like(probs)
    _elementwise("softmax_xent", "softmax_xent_bwd", probs.dtype, g.size,
                 (probs, labels, gloss, g, _i(n), _i(k)))
    return g


# ----------------------------------------------------------------------------- fused optimizers


def _state_array(a, like, what):
    cp = _cupy()
    if not isinstance(a, cp.ndarray):
        raise TypeError(f"{what} must be a CuPy array updated in place, got {type(a).__name__}")
    if a.dtype != like.dtype or a.size != like.size or not a.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous with the parameter's dtype and size "
                         f"(got {a.dtype}, {a.size} elements; parameter {like.dtype}, {like.size})")
    return a


def _gather(params, grads, states, names):
    """Validate and group by dtype: ``{dtype: [(p, g, *states), ...]}`` (entries with grad None
    and empty parameters are skipped).  Grads of another dtype or layout are converted."""
    cp = _cupy()
    n = len(params)
    if len(grads) != n or any(len(s) != n for s in states):
        raise ValueError("params, grads and optimizer state lists must have the same length")
    groups = {}
    for idx in range(n):
        p, g = params[idx], grads[idx]
        if g is None:
            continue
        if not isinstance(p, cp.ndarray) or p.dtype not in (np.float32, np.float64):
            raise TypeError(f"params[{idx}] must be a float32/float64 CuPy array")
        if not p.flags.c_contiguous:
            raise ValueError(f"params[{idx}] must be C-contiguous (it is updated in place)")
        if p.size == 0:
            continue
        g = _as_float(g, p.dtype)
        if g.size != p.size:
            raise ValueError(f"grads[{idx}] has {g.size} elements, params[{idx}] has {p.size}")
        row = [p, g] + [_state_array(s[idx], p, f"{nm}[{idx}]") for s, nm in zip(states, names)]
        groups.setdefault(p.dtype, []).append(row)
    return groups


def _table(rows, n_ptr_lists):
    """Device int64 table: pointer rows, sizes, chunk_tensor, chunk_start (see optim.cu)."""
    cp = _cupy()
    sizes = np.array([r[0].size for r in rows], dtype=np.int64)
    ptrs = np.array([[0 if a is None else a.data.ptr for a in r] for r in rows], dtype=np.uint64)
    ptrs = ptrs.reshape(len(rows), n_ptr_lists).T.reshape(-1).view(np.int64)
    per = -(-sizes // OPTIM_CHUNK)
    chunk_tensor = np.repeat(np.arange(len(rows), dtype=np.int64), per)
    first = np.repeat(np.cumsum(per) - per, per)
    chunk_start = (np.arange(chunk_tensor.size, dtype=np.int64) - first) * OPTIM_CHUNK
    host = np.concatenate([ptrs, sizes, chunk_tensor, chunk_start])
    key = (n_ptr_lists, host.tobytes())
    dev = _TABLES.get(key)
    if dev is None:
        dev = cp.asarray(host)  # one host-to-device copy; not a kernel launch
        _TABLES[key] = dev
        if len(_TABLES) > _TABLE_CACHE_SIZE:
            _TABLES.popitem(last=False)
    else:
        _TABLES.move_to_end(key)
    return dev, len(rows), int(chunk_tensor.size)


def adam_step(params, grads, ms, vs, lr, beta1, beta2, eps, step, weight_decay=0.0,
              decoupled=False):
    """One Adam (``decoupled=True``: AdamW) step on lists of CuPy arrays, in place, ONE launch.

    ``step`` is the 1-based step count (for bias correction); ``ms``/``vs`` start at zero.
    Per element: ``g += wd*p`` (Adam only); ``m = b1*m + (1-b1)*g``; ``v = b2*v + (1-b2)*g^2``;
    ``p *= 1 - lr*wd`` (AdamW only); ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``.
    Parameters whose grad is ``None`` are left alone.
    """
    step = int(step)
    if step < 1:
        raise ValueError(f"adam_step: step must be >= 1 (1-based), got {step}")
    groups = _gather(params, grads, (ms, vs), ("ms", "vs"))
    step_size = float(lr) / (1.0 - float(beta1) ** step)
    bc2_sqrt = math.sqrt(1.0 - float(beta2) ** step)
    for dtype, rows in groups.items():
        table, nt, nc = _table(rows, 4)
        _launch("optim", "adam_multi", dtype, (min(nc, MAX_BLOCKS),), (BLOCK,),
                (table, _i(nt), _i(nc), _i(OPTIM_CHUNK), np.float64(lr), np.float64(beta1),
                 np.float64(beta2), np.float64(eps), np.float64(step_size), np.float64(bc2_sqrt),
                 np.float64(weight_decay), _i(bool(decoupled))))


def sgd_step(params, grads, bufs, lr, momentum, nesterov, weight_decay):
    """One SGD step on lists of CuPy arrays, in place, ONE launch.

    Per element: ``d = g + wd*p``; with momentum: ``buf = momentum*buf + d`` and
    ``d = d + momentum*buf`` (Nesterov) or ``d = buf``; ``p -= lr*d``.  ``bufs`` start at zero
    (which reproduces PyTorch's first step); with ``momentum == 0`` they may be ``None``.
    """
    if momentum == 0 and (bufs is None or all(b is None for b in bufs)):
        bufs = None
    if bufs is None:
        if momentum != 0:
            raise ValueError("sgd_step: momentum needs momentum buffers")
        groups = _gather(params, grads, (), ())
        for rows in groups.values():
            for r in rows:
                r.append(None)
    else:
        groups = _gather(params, grads, (bufs,), ("bufs",))
    for dtype, rows in groups.items():
        table, nt, nc = _table(rows, 3)
        _launch("optim", "sgd_multi", dtype, (min(nc, MAX_BLOCKS),), (BLOCK,),
                (table, _i(nt), _i(nc), _i(OPTIM_CHUNK), np.float64(lr), np.float64(momentum),
                 np.float64(weight_decay), _i(bool(nesterov))))


# no fused kernel here: the convolution's kernels, then the bias + activation kernel
conv2d_bias_act_forward, conv2d_bias_act_backward = compose_conv2d_bias_act(
    conv2d_forward, conv2d_backward, bias_act_forward, bias_act_backward)
