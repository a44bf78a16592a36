"""The keras.ops calls recorded by record_keras_ops.py and replayed by tests/test_keras_ops.py.

Defined once, over an ``ops`` module (Keras 3's ``keras.ops`` or ``tinydl.keras.ops``) and the
NumPy inputs stored in the fixture, so the recorder and the test run the very same calls.
"""
import numpy as np


def inputs():
    rng = np.random.default_rng(20261130)
    a = rng.normal(size=(3, 4)).astype(np.float32)
    return {
        "a": a,
        "b": rng.normal(size=(4, 5)).astype(np.float32),
        "c": rng.normal(size=(2, 3, 4)).astype(np.float32),
        "p": (np.abs(a) + 0.1) / (np.abs(a) + 0.1).sum(1, keepdims=True),
        "t": (rng.random((3, 4)) > 0.5).astype(np.float32),
        "i": rng.integers(-5, 6, size=(3, 4)).astype(np.int32),
        "labels": np.array([1, 0, 3], np.int32),
        "seg": np.array([0, 2, 0], np.int32),
        "pos": (np.abs(a) + 0.5).astype(np.float32),
        "big": np.array([-1e30, -3.0, 0.0, 2.0, 1e30], np.float32),
    }


def parts(ops, value):
    """A result as a list of (array, dtype name, kind): kind is 'tensor', 'python' or 'numpy'."""
    if isinstance(value, (tuple, list)) and not (value and all(isinstance(v, int) for v in value)):
        return [p for v in value for p in parts(ops, v)]
    if isinstance(value, (tuple, list)):  # a shape (or Python bools)
        return [(np.asarray(value, np.int64), "shape", "python")]
    if ops.is_tensor(value):
        return [(ops.convert_to_numpy(value), ops.dtype(value), "tensor")]
    if isinstance(value, np.ndarray):
        return [(value, value.dtype.name, "numpy")]
    if isinstance(value, str):
        return [(np.zeros(0), value, "python")]
    return [(np.asarray(value), type(value).__name__, "python")]


# name -> f(ops, x): a value or a tuple/list of values (tensors or Python numbers)
CASES = {
    "add_scalar": lambda ops, x: ops.add(x["a"], 2.5),
    "subtract": lambda ops, x: ops.subtract(x["a"], x["a"][0]),
    "multiply_int_float": lambda ops, x: ops.multiply(x["i"], 0.5),
    "divide_ints": lambda ops, x: ops.divide(x["i"], 2),
    "true_divide": lambda ops, x: ops.true_divide(x["a"], x["pos"]),
    "power": lambda ops, x: ops.power(x["pos"], 1.5),
    "power_int": lambda ops, x: ops.power(x["i"], 2),
    "maximum": lambda ops, x: ops.maximum(x["a"], 0.1),
    "minimum": lambda ops, x: ops.minimum(x["i"], 2),
    "negative": lambda ops, x: ops.negative(x["i"]),
    "abs": lambda ops, x: ops.abs(x["a"]),
    "absolute_int": lambda ops, x: ops.absolute(x["i"]),
    "amax": lambda ops, x: ops.amax(x["a"], axis=1),
    "amin": lambda ops, x: ops.amin(x["c"], axis=(0, 2), keepdims=True),
    "tri": lambda ops, x: ops.tri(3, 4, k=-1, dtype="int32"),
    "square_int": lambda ops, x: ops.square(x["i"]),
    "sqrt_int": lambda ops, x: ops.sqrt(ops.abs(x["i"])),
    "exp": lambda ops, x: ops.exp(x["a"]),
    "log": lambda ops, x: ops.log(x["pos"]),
    "log1p": lambda ops, x: ops.log1p(x["pos"]),
    "expm1": lambda ops, x: ops.expm1(x["a"]),
    "sin_int": lambda ops, x: ops.sin(x["i"]),
    "cos": lambda ops, x: ops.cos(x["a"]),
    "tanh": lambda ops, x: ops.tanh(x["a"]),
    "sign": lambda ops, x: ops.sign(x["i"]),
    "floor": lambda ops, x: ops.floor(x["a"] * 3),
    "ceil_int": lambda ops, x: ops.ceil(x["i"]),
    "round": lambda ops, x: ops.round(np.array([0.5, 1.5, 2.5, -0.5, 1.26], np.float32)),
    "round_decimals": lambda ops, x: ops.round(x["a"], 1),
    "clip": lambda ops, x: ops.clip(x["a"], -0.5, 0.5),
    "clip_int": lambda ops, x: ops.clip(x["i"], -2, 3),
    "where": lambda ops, x: ops.where(x["a"] > 0, x["a"], 0.0),
    "where_int_float": lambda ops, x: ops.where(x["i"] > 0, x["i"], 0.5),
    "equal": lambda ops, x: ops.equal(x["i"], 1),
    "not_equal": lambda ops, x: ops.not_equal(x["i"], 1),
    "greater": lambda ops, x: ops.greater(x["a"], 0.0),
    "greater_equal": lambda ops, x: ops.greater_equal(x["i"], 0),
    "less": lambda ops, x: ops.less(x["a"], x["pos"]),
    "less_equal": lambda ops, x: ops.less_equal(x["i"], 0.5),
    "logical_and": lambda ops, x: ops.logical_and(x["a"] > 0, x["i"] > 0),
    "logical_or": lambda ops, x: ops.logical_or(x["a"] > 0, x["i"] > 0),
    "logical_not": lambda ops, x: ops.logical_not(x["i"]),
    "sum": lambda ops, x: ops.sum(x["c"], axis=(0, 2)),
    "sum_bool": lambda ops, x: ops.sum(x["a"] > 0, axis=1),
    "sum_int8": lambda ops, x: ops.sum(x["i"].astype(np.int8)),
    "mean_keepdims": lambda ops, x: ops.mean(x["c"], axis=-1, keepdims=True),
    "mean_int": lambda ops, x: ops.mean(x["i"]),
    "mean_int_axis": lambda ops, x: ops.mean(x["i"], axis=0),
    "mean_f16": lambda ops, x: ops.mean(x["a"].astype(np.float16), axis=1),
    "max": lambda ops, x: ops.max(x["a"], axis=0),
    "max_initial": lambda ops, x: ops.max(x["a"], axis=1, initial=0.5),
    "min": lambda ops, x: ops.min(x["i"]),
    "prod": lambda ops, x: ops.prod(x["a"], axis=1),
    "prod_int": lambda ops, x: ops.prod(x["i"], axis=0),
    "std": lambda ops, x: ops.std(x["a"], axis=1),
    "std_int": lambda ops, x: ops.std(x["i"]),
    "var": lambda ops, x: ops.var(x["c"], axis=(1, 2), keepdims=True),
    "var_int": lambda ops, x: ops.var(x["i"], axis=0),
    "argmax": lambda ops, x: ops.argmax(x["a"]),
    "argmax_axis": lambda ops, x: ops.argmax(x["a"], axis=1),
    "argmin_keepdims": lambda ops, x: ops.argmin(x["a"], axis=0, keepdims=True),
    "argsort": lambda ops, x: ops.argsort(x["a"], axis=-1),
    "argsort_axis0": lambda ops, x: ops.argsort(x["a"], axis=0),
    "sort": lambda ops, x: ops.sort(x["a"], axis=0),
    "cumsum": lambda ops, x: ops.cumsum(x["a"], axis=1),
    "cumsum_flat": lambda ops, x: ops.cumsum(x["i"]),
    "cumsum_bool": lambda ops, x: ops.cumsum(x["a"] > 0, axis=0),
    "all": lambda ops, x: ops.all(x["i"], axis=1),
    "any": lambda ops, x: ops.any(x["a"] > 1, axis=0, keepdims=True),
    "matmul": lambda ops, x: ops.matmul(x["a"], x["b"]),
    "matmul_int8": lambda ops, x: ops.matmul(x["i"].astype(np.int8), x["i"].T.astype(np.int8)),
    "dot": lambda ops, x: ops.dot(x["a"], x["b"]),
    "dot_nd": lambda ops, x: ops.dot(x["c"], x["b"]),
    "einsum": lambda ops, x: ops.einsum("bij,jk->bik", x["c"], x["b"]),
    "tensordot": lambda ops, x: ops.tensordot(x["c"], x["a"], axes=([1, 2], [0, 1])),
    "tensordot_int": lambda ops, x: ops.tensordot(x["a"], x["b"], axes=1),
    "reshape": lambda ops, x: ops.reshape(x["c"], (4, -1)),
    "transpose": lambda ops, x: ops.transpose(x["c"]),
    "transpose_axes": lambda ops, x: ops.transpose(x["c"], axes=(1, 0, 2)),
    "expand_dims": lambda ops, x: ops.expand_dims(x["a"], 1),
    "expand_dims_tuple": lambda ops, x: ops.expand_dims(x["a"], (0, -1)),
    "squeeze": lambda ops, x: ops.squeeze(x["a"][:, :1]),
    "concatenate_mixed": lambda ops, x: ops.concatenate([x["a"], x["i"]], axis=0),
    "stack": lambda ops, x: ops.stack([x["a"], x["pos"]], axis=1),
    "split_sections": lambda ops, x: ops.split(x["a"], 2, axis=1),
    "split_indices": lambda ops, x: ops.split(x["c"], [1, 3], axis=2),
    "tile": lambda ops, x: ops.tile(x["a"], 2),
    "tile_more": lambda ops, x: ops.tile(x["a"], (2, 1, 2)),
    "repeat_flat": lambda ops, x: ops.repeat(x["a"], 2),
    "repeat_axis": lambda ops, x: ops.repeat(x["a"], [1, 0, 2], axis=0),
    "broadcast_to": lambda ops, x: ops.broadcast_to(x["a"][0], (2, 4)),
    "take_flat": lambda ops, x: ops.take(x["a"], [0, 5, -1]),
    "take_axis": lambda ops, x: ops.take(x["a"], np.array([[2, 0], [1, -1]], np.int32), axis=1),
    "take_along_axis": lambda ops, x: ops.take_along_axis(x["a"], np.argsort(x["a"], axis=1)[:, :2], axis=1),
    "zeros": lambda ops, x: ops.zeros((2, 3)),
    "ones_int": lambda ops, x: ops.ones((2,), dtype="int32"),
    "zeros_like": lambda ops, x: ops.zeros_like(x["i"]),
    "ones_like_dtype": lambda ops, x: ops.ones_like(x["a"], dtype="float16"),
    "full": lambda ops, x: ops.full((2, 2), 7),
    "full_like": lambda ops, x: ops.full_like(x["i"], 2.7),
    "arange_int": lambda ops, x: ops.arange(5),
    "arange_float": lambda ops, x: ops.arange(0, 1, 0.25),
    "arange_start_stop": lambda ops, x: ops.arange(2, 9, 3),
    "linspace": lambda ops, x: ops.linspace(0, 1, 5),
    "linspace_noend": lambda ops, x: ops.linspace(0.0, 2.0, 4, endpoint=False),
    "eye": lambda ops, x: ops.eye(3, 4, k=1),
    "tril": lambda ops, x: ops.tril(x["a"]),
    "triu_k": lambda ops, x: ops.triu(x["a"], k=-1),
    "pad": lambda ops, x: ops.pad(x["a"], ((1, 0), (0, 2))),
    "pad_value": lambda ops, x: ops.pad(x["i"], ((1, 1), (0, 1)), constant_values=9),
    "flip": lambda ops, x: ops.flip(x["a"], axis=1),
    "flip_all": lambda ops, x: ops.flip(x["c"]),
    "roll": lambda ops, x: ops.roll(x["a"], 1, axis=0),
    "roll_flat": lambda ops, x: ops.roll(x["a"], -2),
    "moveaxis": lambda ops, x: ops.moveaxis(x["c"], 0, -1),
    "swapaxes": lambda ops, x: ops.swapaxes(x["c"], 0, 2),
    "ravel": lambda ops, x: ops.ravel(x["c"]),
    "norm": lambda ops, x: ops.norm(x["a"]),
    "norm_axis": lambda ops, x: ops.norm(x["a"], axis=1),
    "norm_ord1": lambda ops, x: ops.norm(x["a"], ord=1, axis=0),
    "norm_inf": lambda ops, x: ops.norm(x["a"], ord=np.inf, axis=-1, keepdims=True),
    "norm_fro": lambda ops, x: ops.norm(x["c"], ord="fro", axis=(1, 2)),
    "norm_matrix1": lambda ops, x: ops.norm(x["a"], ord=1),
    "norm_int": lambda ops, x: ops.norm(x["i"], axis=0),
    "isnan": lambda ops, x: ops.isnan(np.array([1.0, np.nan, np.inf], np.float32)),
    "isinf": lambda ops, x: ops.isinf(np.array([1.0, np.nan, -np.inf], np.float32)),
    "isfinite": lambda ops, x: ops.isfinite(np.array([1.0, np.nan, np.inf], np.float32)),
    "nan_to_num": lambda ops, x: ops.nan_to_num(np.array([1.0, np.nan, np.inf, -np.inf], np.float32)),
    "nan_to_num_args": lambda ops, x: ops.nan_to_num(np.array([1.0, np.nan, np.inf, -np.inf], np.float32),
                                                     nan=-1.0, posinf=5.0, neginf=-5.0),
    "count_nonzero": lambda ops, x: ops.count_nonzero(x["i"], axis=0),
    "size": lambda ops, x: ops.size(x["c"]),
    "ndim": lambda ops, x: ops.ndim(x["c"]),
    "shape": lambda ops, x: ops.shape(ops.convert_to_tensor(x["c"])),
    # nn
    "relu": lambda ops, x: ops.relu(x["a"]),
    "relu6": lambda ops, x: ops.relu6(x["a"] * 8),
    "sigmoid": lambda ops, x: ops.sigmoid(x["big"]),
    "softplus": lambda ops, x: ops.softplus(x["big"]),
    "softsign": lambda ops, x: ops.softsign(x["a"]),
    "silu": lambda ops, x: ops.silu(x["a"]),
    "swish": lambda ops, x: ops.swish(x["a"]),
    "gelu": lambda ops, x: ops.gelu(x["a"]),
    "gelu_exact": lambda ops, x: ops.gelu(x["a"], approximate=False),
    "elu": lambda ops, x: ops.elu(x["a"]),
    "elu_alpha": lambda ops, x: ops.elu(x["a"], alpha=0.5),
    "selu": lambda ops, x: ops.selu(x["a"]),
    "leaky_relu": lambda ops, x: ops.leaky_relu(x["a"]),
    "leaky_relu_slope": lambda ops, x: ops.leaky_relu(x["a"], negative_slope=0.05),
    "log_sigmoid": lambda ops, x: ops.log_sigmoid(x["big"]),
    "hard_sigmoid": lambda ops, x: ops.hard_sigmoid(x["a"] * 4),
    "softmax": lambda ops, x: ops.softmax(x["a"]),
    "softmax_axis0": lambda ops, x: ops.softmax(x["a"], axis=0),
    "softmax_big": lambda ops, x: ops.softmax(x["big"]),
    "log_softmax": lambda ops, x: ops.log_softmax(x["a"]),
    "one_hot": lambda ops, x: ops.one_hot(x["labels"], 4),
    "one_hot_axis0": lambda ops, x: ops.one_hot(np.array([2, -1], np.int32), 3, axis=0),
    "binary_crossentropy": lambda ops, x: ops.binary_crossentropy(x["t"], x["p"]),
    "binary_crossentropy_logits": lambda ops, x: ops.binary_crossentropy(x["t"], x["a"], from_logits=True),
    "categorical_crossentropy": lambda ops, x: ops.categorical_crossentropy(x["t"], x["pos"]),
    "categorical_crossentropy_logits": lambda ops, x: ops.categorical_crossentropy(x["p"], x["a"], from_logits=True),
    "sparse_categorical_crossentropy": lambda ops, x: ops.sparse_categorical_crossentropy(x["labels"], x["p"]),
    "sparse_categorical_crossentropy_logits":
        lambda ops, x: ops.sparse_categorical_crossentropy(x["labels"], x["a"], from_logits=True),
    "moments": lambda ops, x: ops.moments(x["c"], axes=[0, 1]),
    "moments_keepdims": lambda ops, x: ops.moments(x["a"], axes=[1], keepdims=True),
    "normalize": lambda ops, x: ops.normalize(x["a"]),
    "normalize_order1": lambda ops, x: ops.normalize(x["a"], axis=0, order=1),
    # core and math
    "convert_to_tensor_list_int": lambda ops, x: ops.convert_to_tensor([1, 2, 3]),
    "convert_to_tensor_list_float": lambda ops, x: ops.convert_to_tensor([1.0, 2.0]),
    "convert_to_tensor_f64": lambda ops, x: ops.convert_to_tensor(x["a"].astype(np.float64)),
    "convert_to_tensor_dtype": lambda ops, x: ops.convert_to_tensor([1.7, -1.7], dtype="int32"),
    "convert_to_numpy": lambda ops, x: ops.convert_to_numpy(ops.convert_to_tensor(x["i"])),
    "cast": lambda ops, x: ops.cast(x["a"] * 3, "int32"),
    "cast_bool": lambda ops, x: ops.cast(x["i"], "bool"),
    "stop_gradient": lambda ops, x: ops.stop_gradient(x["a"]),
    "dtype": lambda ops, x: ops.dtype(ops.convert_to_tensor(x["i"])),
    "slice": lambda ops, x: ops.slice(x["c"], (0, 1, 1), (2, 2, 3)),
    "slice_update": lambda ops, x: ops.slice_update(x["a"], (1, 1), np.ones((2, 2), np.float32)),
    "scatter": lambda ops, x: ops.scatter(np.array([[0, 1], [2, 3], [0, 1]], np.int32),
                                          np.array([1.0, 2.0, 3.0], np.float32), (3, 4)),
    "cond": lambda ops, x: ops.cond(ops.convert_to_tensor(True), lambda: x["a"] * 2, lambda: x["a"]),
    "fori_loop": lambda ops, x: ops.fori_loop(0, 4, lambda i, v: v + i, ops.convert_to_tensor(x["a"])),
    "is_tensor": lambda ops, x: (ops.is_tensor(ops.convert_to_tensor(x["a"])), ops.is_tensor(x["a"])),
    "logsumexp": lambda ops, x: ops.logsumexp(x["a"], axis=1),
    "logsumexp_all": lambda ops, x: ops.logsumexp(x["big"]),
    "top_k": lambda ops, x: ops.top_k(x["a"], 2),
    "erf": lambda ops, x: ops.erf(x["a"]),
    "rsqrt": lambda ops, x: ops.rsqrt(x["pos"]),
    "segment_sum": lambda ops, x: ops.segment_sum(x["a"], x["seg"], num_segments=3),
    "segment_sum_default": lambda ops, x: ops.segment_sum(x["a"], np.array([0, 1, 0], np.int32)),
}

# gradients of sum(w * f(v)) with respect to v, v a variable holding the named input
GRAD_CASES = {
    "softmax": ("a", lambda ops, v: ops.softmax(v)),
    "logsumexp": ("a", lambda ops, v: ops.logsumexp(v, axis=1)),
    "norm": ("a", lambda ops, v: ops.norm(v, axis=1)),
    "std": ("a", lambda ops, v: ops.std(v, axis=0)),
    "sort": ("a", lambda ops, v: ops.sort(v, axis=1)),
    "take": ("a", lambda ops, v: ops.take(v, np.array([0, 5, 5, -1], np.int32))),
    "cumsum": ("a", lambda ops, v: ops.cumsum(v, axis=0)),
    "tensordot": ("c", lambda ops, v: ops.tensordot(v, np.ones((4, 2), np.float32), axes=1)),
    "gelu": ("a", lambda ops, v: ops.gelu(v)),
    "elu": ("a", lambda ops, v: ops.elu(v)),
    "binary_crossentropy": ("p", lambda ops, v: ops.binary_crossentropy(np.full((3, 4), 0.3, np.float32), v)),
    "categorical_crossentropy": ("pos", lambda ops, v: ops.categorical_crossentropy(
        np.eye(3, 4, dtype=np.float32), v)),
    "top_k": ("a", lambda ops, v: ops.top_k(v, 2)[0]),
    "slice": ("a", lambda ops, v: ops.square(ops.slice(v, (1, 0), (2, 2)))),
    "segment_sum": ("a", lambda ops, v: ops.segment_sum(v, np.array([1, 0, 1], np.int32), num_segments=2)),
    "take_along_axis": ("a", lambda ops, v: ops.take_along_axis(v, np.array([[0, 0], [1, 3], [2, 2]]), axis=1)),
    "repeat": ("a", lambda ops, v: ops.repeat(v, [2, 0, 1], axis=0)),
    "tile": ("a", lambda ops, v: ops.tile(v, (1, 2))),
    "var_mean": ("a", lambda ops, v: ops.var(v, axis=1) + ops.mean(v, axis=1)),
    "prod": ("a", lambda ops, v: ops.prod(v, axis=0)),
}

# the dtypes whose pairwise promotion under ops.add is recorded (and Python scalars)
DTYPES = ["bool", "uint8", "uint16", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = {"py_bool": True, "py_int": 2, "py_float": 2.5}
UNARY_DTYPE_OPS = ["abs", "all", "any", "argmax", "argmin", "argsort", "ceil", "cos", "count_nonzero", "cumsum",
                   "elu", "erf", "exp", "expm1", "flip", "floor", "gelu", "hard_sigmoid", "isfinite", "isinf",
                   "isnan", "leaky_relu", "log", "log1p", "log_sigmoid", "log_softmax", "logsumexp", "max", "mean",
                   "min", "nan_to_num", "negative", "norm", "prod", "ravel", "relu", "relu6", "round", "rsqrt",
                   "selu", "sigmoid", "sign", "silu", "sin", "softmax", "softplus", "softsign", "sort", "sqrt",
                   "square", "std", "sum", "tanh", "transpose", "var"]
BINARY_DTYPE_OPS = ["subtract", "multiply", "divide", "maximum", "minimum", "power", "equal", "where_else",
                    "concatenate", "stack"]


def binary_call(ops, name, a, b):
    """ops.<name>(a, b) for the dtype grid (where_else: where(True, a, b); concatenate/stack: of [a, b])."""
    if name == "where_else":
        return ops.where(True, a, b)
    if name in ("concatenate", "stack"):
        return getattr(ops, name)([ops.convert_to_tensor(a), ops.convert_to_tensor(b)] if not (
            isinstance(a, (bool, int, float)) or isinstance(b, (bool, int, float))) else [a, b])
    return getattr(ops, name)(a, b)
