"""The Tensor's PyTorch methods (``Tensor`` inherits this mixin): conversions, devices, shape,
reductions, indexing and math, each a thin call into the ``torch_api`` functions."""
import numbers

import numpy as np

from ... import backends
from .. import functional as F, inplace
from .aliases import numpy_aliases
from .dtypes_devices import Size, as_dtype, backend_of, device, device_of_array, dtype_from_type_name, type_name


# The function modules import Tensor, so they are bound once tensor.py has defined it (_bind).
C = I = P = R = S = None


def _bind():
    global C, I, P, R, S
    from . import creation as C, indexing as I, pointwise as P, reductions as R, shape as S  # noqa: F811


def _is_device_spec(x):
    return isinstance(x, (str, device))


class TorchMethods:
    __slots__ = ()

    # ---- dtypes and conversions ------------------------------------------------------------
    def _cast(self, dtype):
        dtype = as_dtype(dtype, "to")
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return self.astype(dtype)  # differentiable between float dtypes
        return type(self)._wrap(self.data.astype(dtype))

    def float(self): return self._cast(np.float32)  # noqa: A003
    def double(self): return self._cast(np.float64)
    def half(self): return self._cast(np.float16)
    def long(self): return self._cast(np.int64)
    def int(self): return self._cast(np.int32)  # noqa: A003
    def short(self): return self._cast(np.int16)
    def char(self): return self._cast(np.int8)
    def byte(self): return self._cast(np.uint8)
    def bool(self): return self._cast(np.bool_)  # noqa: A003

    def type(self, dtype=None, non_blocking=False):  # noqa: A003
        """No argument: PyTorch's type string (``'torch.FloatTensor'``); else a cast."""
        if dtype is None:
            return type_name(self.dtype)
        return self._cast(dtype_from_type_name(dtype) if isinstance(dtype, str) else dtype)

    def type_as(self, other):
        return self._cast(other.dtype)

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    def element_size(self):
        return self.data.dtype.itemsize

    def to(self, *args, non_blocking=False, copy=False, dtype=None, device=None, memory_format=None):
        """``to(dtype)``, ``to(device, dtype=None)``, ``to(other_tensor)``; returns ``self`` when
        nothing changes (unless ``copy=True``). A dtype change between floats is differentiable;
        a device move gives a new leaf that keeps ``requires_grad``."""
        args = list(args)
        if args and isinstance(args[0], type(self)):
            other = args.pop(0)
            device, dtype = device_of_array(other.data), other.dtype
        elif args and _is_device_spec(args[0]):
            device = args.pop(0)
        if args and not isinstance(args[0], bool):
            dtype = args.pop(0)
        if args:
            raise TypeError(f"to() received an invalid combination of arguments: {args!r}")
        out = self
        if device is not None:
            out = out._move(backend_of(device, "to"))
        if dtype is not None:
            out = out._cast(dtype)
        if copy and out is self:
            out = F.clone(self)
        return out

    def _move(self, backend):
        if backend == backends.device_of(self.data):
            return self
        t = type(self)(self.data, device=backend)
        t.requires_grad = self.requires_grad
        return t

    @property
    def device(self):
        return device_of_array(self.data)

    @property
    def is_cuda(self):
        return backends.is_gpu_array(self.data)

    def cpu(self):
        return self._move("cpu")

    def cuda(self, device=None, non_blocking=False):
        backend_of("cuda" if device is None else device if not isinstance(device, numbers.Integral)
                   else f"cuda:{device}", "cuda")
        return self._move("gpu")

    def numpy(self, *, force=False):
        """The data as a NumPy array sharing memory (copied from the GPU), for any tensor.

        PyTorch refuses a tensor that requires grad here; tinydl does not, because the same
        Tensor is also TensorFlow's eager tensor, whose ``model(x).numpy()`` every Keras guide
        writes. The array is the value only: it carries no gradient (as ``detach().numpy()``).
        ``force`` is accepted for PyTorch's signature."""
        return self.data.get() if hasattr(self.data, "get") else self.data

    # ---- shape -----------------------------------------------------------------------------
    def size(self, dim=None):
        if dim is None:
            return Size(self.data.shape)
        return self.data.shape[S.dim_of("size", dim, self.ndim)]

    def dim(self): return self.data.ndim
    def ndimension(self): return self.data.ndim
    def numel(self): return int(self.data.size)
    def nelement(self): return int(self.data.size)
    def view(self, *shape): return S.view(self, *shape)
    def view_as(self, other): return S.view(self, other.shape)
    def reshape(self, *shape): return S.reshape(self, *shape)
    def reshape_as(self, other): return S.reshape(self, other.shape)
    def permute(self, *dims): return S.permute(self, *dims)
    def transpose(self, dim0, dim1): return S.transpose(self, dim0, dim1)
    def swapaxes(self, dim0, dim1): return S.transpose(self, dim0, dim1)
    def t(self): return S.t(self)
    def flatten(self, start_dim=0, end_dim=-1): return S.flatten(self, start_dim, end_dim)
    def unflatten(self, dim, sizes): return S.unflatten(self, dim, sizes)
    def squeeze(self, dim=None): return S.squeeze(self, dim)
    def unsqueeze(self, dim): return S.unsqueeze(self, dim)
    def expand(self, *sizes): return S.expand(self, *sizes)
    def expand_as(self, other): return S.expand(self, other.shape)
    def repeat(self, *sizes): return S.repeat(self, *sizes)
    def chunk(self, chunks, dim=0): return S.chunk(self, chunks, dim)
    def split(self, split_size, dim=0): return S.split(self, split_size, dim)
    def tensor_split(self, indices_or_sections, dim=0): return S.tensor_split(self, indices_or_sections, dim)
    def unbind(self, dim=0): return S.unbind(self, dim)
    def contiguous(self, memory_format=None): return S.contiguous(self)
    def is_contiguous(self, memory_format=None): return bool(self.data.flags.c_contiguous)
    def narrow(self, dim, start, length): return S.narrow(self, dim, start, length)
    def flip(self, *dims): return S.flip(self, *dims)
    def roll(self, shifts, dims=None): return S.roll(self, shifts, dims)
    def movedim(self, source, destination): return S.movedim(self, source, destination)

    # ---- reductions --------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, *, dtype=None, **kw): return R.sum(self, dim, keepdim, dtype=dtype, **kw)
    def mean(self, dim=None, keepdim=False, *, dtype=None, **kw): return R.mean(self, dim, keepdim, dtype=dtype, **kw)
    @numpy_aliases
    def prod(self, dim=None, keepdim=False, *, dtype=None): return R.prod(self, dim, keepdim, dtype=dtype)
    def max(self, *args, **kw): return R.max(self, *args, **kw)  # noqa: A003
    def min(self, *args, **kw): return R.min(self, *args, **kw)  # noqa: A003
    @numpy_aliases
    def amax(self, dim=(), keepdim=False): return R.amax(self, dim, keepdim)
    @numpy_aliases
    def amin(self, dim=(), keepdim=False): return R.amin(self, dim, keepdim)
    @numpy_aliases
    def argmax(self, dim=None, keepdim=False): return R.argmax(self, dim, keepdim)
    @numpy_aliases
    def argmin(self, dim=None, keepdim=False): return R.argmin(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
        return R.var(self, dim, unbiased, keepdim, correction=correction, **kw)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, **kw):
        return R.std(self, dim, unbiased, keepdim, correction=correction, **kw)

    @numpy_aliases
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None): return R.norm(self, p, dim, keepdim, dtype)
    @numpy_aliases
    def logsumexp(self, dim, keepdim=False): return R.logsumexp(self, dim, keepdim)
    @numpy_aliases
    def cumsum(self, dim, *, dtype=None): return R.cumsum(self, dim, dtype=dtype)
    @numpy_aliases
    def all(self, dim=None, keepdim=False): return R.all(self, dim, keepdim)  # noqa: A003
    @numpy_aliases
    def any(self, dim=None, keepdim=False): return R.any(self, dim, keepdim)  # noqa: A003
    @numpy_aliases
    def sort(self, dim=-1, descending=False, stable=False): return R.sort(self, dim, descending, stable)
    @numpy_aliases
    def argsort(self, dim=-1, descending=False, stable=False): return R.argsort(self, dim, descending, stable)
    @numpy_aliases
    def topk(self, k, dim=-1, largest=True, sorted=True): return R.topk(self, k, dim, largest, sorted)  # noqa: A002
    @numpy_aliases
    def kthvalue(self, k, dim=-1, keepdim=False): return R.kthvalue(self, k, dim, keepdim)
    @numpy_aliases
    def median(self, dim=None, keepdim=False): return R.median(self, dim, keepdim)
    @numpy_aliases
    def mode(self, dim=-1, keepdim=False): return R.mode(self, dim, keepdim)
    @numpy_aliases
    def count_nonzero(self, dim=None): return R.count_nonzero(self, dim)
    def softmax(self, dim): return F.softmax(self, dim)
    def log_softmax(self, dim): return F.log_softmax(self, dim)

    # ---- indexing ----------------------------------------------------------------------------
    def gather(self, dim, index): return I.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return I.scatter(self, dim, index, src, value=value, reduce=reduce)
    def scatter_add(self, dim, index, src): return I.scatter_add(self, dim, index, src)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return inplace.copy_(self, I.scatter(self.detach() if not self.requires_grad else self,
                                             dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim, index, src):
        return inplace.copy_(self, I.scatter_add(self.detach() if not self.requires_grad else self, dim, index, src))

    def index_select(self, dim, index): return I.index_select(self, dim, index)
    def masked_fill(self, mask, value): return I.masked_fill(self, mask, value)
    def masked_select(self, mask): return I.masked_select(self, mask)
    def take_along_dim(self, indices, dim=None): return I.take_along_dim(self, indices, dim)
    def where(self, condition, other): return P.where(condition, self, other)
    def nonzero(self, *, as_tuple=False): return P.nonzero(self, as_tuple=as_tuple)

    # ---- math --------------------------------------------------------------------------------
    def add(self, other, *, alpha=1): return P.add(self, other, alpha=alpha)
    def sub(self, other, *, alpha=1): return P.sub(self, other, alpha=alpha)
    def mul(self, other): return F.mul(self, other)
    def div(self, other, *, rounding_mode=None): return P.div(self, other, rounding_mode=rounding_mode)
    def pow(self, exponent): return F.pow(self, exponent)
    def sqrt(self): return P.sqrt(self)
    def rsqrt(self): return P.rsqrt(self)
    def exp(self): return P.exp(self)
    def log(self): return P.log(self)
    def log1p(self): return P.log1p(self)
    def expm1(self): return P.expm1(self)
    def log2(self): return P.log2(self)
    def log10(self): return P.log10(self)
    def sin(self): return P.sin(self)
    def cos(self): return P.cos(self)
    def tan(self): return P.tan(self)
    def asin(self): return P.asin(self)
    def acos(self): return P.acos(self)
    def atan(self): return P.atan(self)
    def atan2(self, other): return P.atan2(self, other)
    def sinh(self): return P.sinh(self)
    def cosh(self): return P.cosh(self)
    def tanh(self): return P.tanh(self)
    def sigmoid(self): return P.sigmoid(self)
    def relu(self): return F.relu(self)
    def abs(self): return F.abs(self)
    def neg(self): return F.neg(self)
    def square(self): return P.square(self)
    def reciprocal(self): return P.reciprocal(self)
    def sign(self): return P.sign(self)
    def floor(self): return P.floor(self)
    def ceil(self): return P.ceil(self)
    def round(self, decimals=0): return P.round(self, decimals)
    def trunc(self): return P.trunc(self)
    def clamp(self, min=None, max=None): return P.clamp(self, min, max)  # noqa: A002
    def clip(self, min=None, max=None): return P.clamp(self, min, max)  # noqa: A002
    def maximum(self, other): return F.maximum(self, other)
    def minimum(self, other): return F.minimum(self, other)
    def triu(self, diagonal=0): return P.triu(self, diagonal)
    def tril(self, diagonal=0): return P.tril(self, diagonal)
    def matmul(self, other): return F.matmul(self, other)
    def mm(self, mat2): return P.mm(self, mat2)
    def bmm(self, mat2): return P.bmm(self, mat2)
    def mv(self, vec): return P.mv(self, vec)
    def dot(self, other): return P.dot(self, other)
    def outer(self, vec2): return P.outer(self, vec2)
    def eq(self, other): return F.eq(self, other)
    def ne(self, other): return F.ne(self, other)
    def lt(self, other): return F.lt(self, other)
    def le(self, other): return F.le(self, other)
    def gt(self, other): return F.gt(self, other)
    def ge(self, other): return F.ge(self, other)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return P.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return P.allclose(self, other, rtol, atol, equal_nan)
    def equal(self, other): return P.equal(self, other)
    def isnan(self): return P.isnan(self)
    def isinf(self): return P.isinf(self)
    def isfinite(self): return P.isfinite(self)
    def logical_not(self): return P.logical_not(self)

    # ---- bitwise and integer operators (no gradient) -----------------------------------------
    def _raw(self, other, fn, name):
        o = other.data if isinstance(other, type(self)) else other
        try:
            return type(self)._wrap(self.xp.asarray(fn(self.data, o)))
        except TypeError:
            raise TypeError(f"{name}: not supported between dtypes {self.dtype} and "
                            f"{getattr(o, 'dtype', type(o).__name__)}") from None

    def __and__(self, o): return self._raw(o, lambda a, b: a & b, "bitwise_and")
    def __rand__(self, o): return self._raw(o, lambda a, b: b & a, "bitwise_and")
    def __or__(self, o): return self._raw(o, lambda a, b: a | b, "bitwise_or")
    def __ror__(self, o): return self._raw(o, lambda a, b: b | a, "bitwise_or")
    def __xor__(self, o): return self._raw(o, lambda a, b: a ^ b, "bitwise_xor")
    def __rxor__(self, o): return self._raw(o, lambda a, b: b ^ a, "bitwise_xor")
    def __invert__(self): return self._raw(None, lambda a, _: ~a, "bitwise_not")
    def __floordiv__(self, o): return self._raw(o, lambda a, b: a // b, "floor_divide")
    def __rfloordiv__(self, o): return self._raw(o, lambda a, b: b // a, "floor_divide")
    def __mod__(self, o): return self._raw(o, lambda a, b: a % b, "remainder")
    def __rmod__(self, o): return self._raw(o, lambda a, b: b % a, "remainder")

    # ---- new tensors like this one -------------------------------------------------------------
    def _like_kwargs(self, dtype, device):
        return dict(dtype=dtype or self.dtype, device=device or self.device)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return C.zeros(*size, requires_grad=requires_grad, **self._like_kwargs(dtype, device))

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return C.ones(*size, requires_grad=requires_grad, **self._like_kwargs(dtype, device))

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return C.empty(*size, requires_grad=requires_grad, **self._like_kwargs(dtype, device))

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return C.full(size, fill_value, requires_grad=requires_grad, **self._like_kwargs(dtype, device))

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return C.tensor(data, requires_grad=requires_grad, **self._like_kwargs(dtype, device))
