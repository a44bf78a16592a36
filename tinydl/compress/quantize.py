"""Post-training int8 quantization of Dense and Conv2D layers, and its save format.

Scheme: symmetric, zero point 0. Weights: one scale per output channel,
``s_w[o] = max|W[..., o]| / 127``. Activations: one scale per layer input,
``s_x = max|x| / 127`` observed on calibration data (or by QAT's FakeQuant layers). A quantized
layer computes ``acc = sum q_x q_w`` in int32 and ``y = act(acc * s_x s_w[o] + b[o])`` in
float32, in one call of the kernel provider (``int8_conv2d_bias_act``, ``int8_matmul_bias_act``
of ``tinydl.backends.interface``: ``kernels/cpu/quant.py`` or the NumPy reference).
Each element of ``x`` and ``W`` is off by at most half a step, which bounds the
error of every output (:func:`error_bound`).

Pooling, Flatten, Dropout (the identity at inference) and activations are kept as they are,
in float32, except that a conv followed (after an optional max pooling and Flatten) by another
quantized layer hands it int8 directly (``QuantizedConv2D.output_scale``). ``quantize_model`` works on a chain of layers (``nn.Sequential`` or a Keras
``Sequential``) and returns an ``nn.Sequential`` for inference; ``save_quantized`` writes int8
weights (about 4x smaller than float32) in tinydl's ``.npz`` checkpoint format.
"""
import numpy as np

from ..backends import provider_for
from ..core.tensor import Tensor
from ..io import CheckpointError, load_state, save_state
from ..nn.channels_last import pair, padding_pairs
from ..nn.layers.base import Layer, activate
from ..nn.layers.conv import Conv2D, Conv2DTranspose
from ..nn.layers.core import Activation, Dense, Dropout, Flatten, Identity, ReLU, Softmax
from ..nn.layers.pooling import AveragePooling2D, MaxPooling2D
from ..nn.modules import activation as torch_act, dropout as torch_dropout, linear as torch_linear
from ..nn.modules.container import Sequential

__all__ = ["weight_scales", "quantize_weight", "QuantizedDense", "QuantizedConv2D", "quantize_model",
           "calibrate", "save_quantized", "load_quantized", "error_bound", "model_nbytes"]

QMAX = 127


def weight_scales(kernel):
    """Per-output-channel (last axis) symmetric scales: max|W| / 127 (1.0 for an all-zero channel)."""
    k = np.asarray(kernel, np.float32)
    m = np.abs(k.reshape(-1, k.shape[-1])).max(axis=0)
    return np.where(m > 0, m / QMAX, 1.0).astype(np.float32)


def quantize_weight(kernel):
    """(packed int8 (O, K), scales (O,)) of a Keras-layout kernel (..., O)."""
    k = np.asarray(kernel, np.float32)
    s = weight_scales(k)
    q = np.clip(np.rint(k / s), -QMAX, QMAX).astype(np.int8)
    return np.ascontiguousarray(q.reshape(-1, k.shape[-1]).T), s


def _split_act(activation):
    """(the activation fused in the int8 kernel's epilogue, the one applied after in float)."""
    if activation in (None, "linear"):
        return "linear", None
    if activation == "relu":
        return "relu", None
    return "linear", activation


class _Quantized(Layer):
    """Shared parts: the int8 weight, its scales, the input scale, bias and activation."""

    def _setup(self, wq, w_scale, in_scale, bias, activation):
        self.register_buffer("weight_int8", np.ascontiguousarray(wq, np.int8))
        self.register_buffer("weight_scale", np.asarray(w_scale, np.float32))
        self.register_buffer("input_scale", np.asarray([in_scale], np.float32))
        self.register_buffer("bias", np.asarray(bias, np.float32))
        self.activation = activation
        self.fused_act, self.after_act = _split_act(activation)
        self.built = True

    def _out_scale(self):
        """float32 ``s_x * s_w[o]``: one int32 unit of output channel o."""
        return (self.input_scale[0] * self.weight_scale).astype(np.float32)

    def _finish(self, y):
        out = Tensor._wrap(y)
        return activate(out, self.after_act) if self.after_act else out

    def _quantize_input(self, x, kernels):
        # int8 input comes from a fused layer before this one, already on this layer's grid
        if x.data.dtype == np.int8:
            return x.data
        return kernels.quantize_int8(x.data, float(self.input_scale[0]))


class QuantizedDense(_Quantized):
    """Inference-only int8 Dense: ``act(int8(x) @ int8(W) * s_x s_w + b)``."""

    def __init__(self, wq, w_scale, in_scale, bias, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.in_features = wq.shape
        self._setup(wq, w_scale, in_scale, bias, activation)

    @classmethod
    def from_float(cls, layer, in_scale):
        wq, s = quantize_weight(layer.kernel.detach().numpy())
        b = layer.bias.detach().numpy() if layer.bias is not None else np.zeros(layer.units, np.float32)
        return cls(wq, s, in_scale, b, layer.activation, name=layer.name)

    def config(self):
        return {"activation": self.activation}

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self.name} (QuantizedDense): expected input (batch, {self.in_features}), "
                             f"got shape {tuple(x.shape)}")
        k = provider_for(x.data)
        return self._finish(k.int8_matmul_bias_act(self._quantize_input(x, k), self.weight_int8,
                                                   self._out_scale(), self.bias, self.fused_act))


class QuantizedConv2D(_Quantized):
    """Inference-only int8 Conv2D on channels-last input.

    With ``output_scale`` set (done by :func:`quantize_model` when the next layer is quantized
    too), the layer also applies the max pooling ``pool`` = ``(pool_size, strides)`` that
    followed it (or none) and returns int8 on the next layer's input grid, so the activations
    stay int8 between the two layers."""

    def __init__(self, wq, w_scale, in_scale, bias, kernel_size, strides, padding, dilation_rate,
                 activation=None, pool=None, output_scale=None, **kwargs):
        super().__init__(**kwargs)
        self.pool = None if pool is None else (pair(pool[0]), pair(pool[1]))
        self.output_scale = None if output_scale is None else float(output_scale)
        self.filters = wq.shape[0]
        self.kernel_size, self.strides = pair(kernel_size), pair(strides)
        self.padding, self.dilation_rate = padding, pair(dilation_rate)
        self.in_channels = wq.shape[1] // (self.kernel_size[0] * self.kernel_size[1])
        self._setup(wq, w_scale, in_scale, bias, activation)

    @classmethod
    def from_float(cls, layer, in_scale):
        if isinstance(layer, Conv2DTranspose) or layer.data_format != "channels_last":
            raise NotImplementedError(f"{layer.name}: int8 quantization supports channels-last Conv2D only")
        wq, s = quantize_weight(layer.kernel.detach().numpy())
        b = layer.bias.detach().numpy() if layer.bias is not None else np.zeros(layer.filters, np.float32)
        return cls(wq, s, in_scale, b, layer.kernel_size, layer.strides, layer.padding, layer.dilation_rate,
                   layer.activation, name=layer.name)

    def config(self):
        pad = self.padding if isinstance(self.padding, str) else np.asarray(self.padding).tolist()
        return {"kernel_size": list(self.kernel_size), "strides": list(self.strides), "padding": pad,
                "dilation_rate": list(self.dilation_rate), "activation": self.activation,
                "pool": None if self.pool is None else [list(self.pool[0]), list(self.pool[1])],
                "output_scale": self.output_scale}

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 4 or x.shape[3] != self.in_channels:
            raise ValueError(f"{self.name} (QuantizedConv2D): expected input (N, H, W, {self.in_channels}), "
                             f"got shape {tuple(x.shape)}")
        k = provider_for(x.data)
        pads = padding_pairs(self.padding, x.shape[1:3], self.kernel_size, self.strides, self.dilation_rate)
        if self.output_scale is not None:
            pool_size, pool_strides = self.pool or ((1, 1), (1, 1))
            return Tensor._wrap(k.int8_conv2d_requant(
                self._quantize_input(x, k), self.weight_int8, self.kernel_size, self.strides, pads,
                self.dilation_rate, self._out_scale(), self.bias, self.fused_act, self.output_scale, pool_size,
                pool_strides))
        return self._finish(k.int8_conv2d_bias_act(self._quantize_input(x, k), self.weight_int8, self.kernel_size,
                                                    self.strides, pads, self.dilation_rate, self._out_scale(),
                                                    self.bias, self.fused_act))


# ---- conversion ----------------------------------------------------------------------------------

_KEPT = {MaxPooling2D: ("pool_size", "strides", "padding"), AveragePooling2D: ("pool_size", "strides", "padding"),
         Flatten: (), Activation: ("activation",), ReLU: (), Softmax: ("axis",), Identity: (),
         # PyTorch's modules that compute the same on these chains (Flatten with its default dims)
         torch_linear.Flatten: (), torch_act.ReLU: (), torch_linear.Identity: ()}


def _chain(model):
    layers = list(model.layers) if hasattr(model, "layers") else list(model)
    return [l for l in layers if type(l).__name__ != "InputLayer"]


def _quantizable(layer):
    return isinstance(layer, (Dense, Conv2D)) and not isinstance(layer, Conv2DTranspose)


def calibrate(model, x, batch_size=256):
    """max|input| of every Dense/Conv2D of a chain, over the calibration images ``x``:
    {layer position: max}. FakeQuant layers (QAT) supply their learned range instead."""
    from .qat import FakeQuant
    import tinydl
    chain = _chain(model)
    ranges = {}
    was = [l.training for l in chain]
    for l in chain:
        l.train(False)
    try:
        with tinydl.no_grad():
            for s in range(0, len(x), batch_size):
                h = Tensor(np.asarray(x[s:s + batch_size], np.float32))
                for i, layer in enumerate(chain):
                    if _quantizable(layer):
                        ranges[i] = max(ranges.get(i, 0.0), float(np.abs(h.detach().numpy()).max()))
                    h = layer(h)
    finally:
        for l, t in zip(chain, was):
            l.train(t)
    for i, layer in enumerate(chain):
        if isinstance(layer, FakeQuant) and i + 1 < len(chain) and _quantizable(chain[i + 1]):
            ranges[i + 1] = float(layer.range[0])
    return ranges


def _fuse(chain):
    """Keep activations int8 from a QuantizedConv2D (ReLU or linear) to the next quantized layer:
    the conv takes over a 'valid' MaxPooling2D right after it and requantizes its output with the
    next layer's input scale; a Flatten in between reshapes the int8 values. The outputs are
    the same as unfused (pooling commutes with the non-decreasing epilogue, and the requantized
    values are what the next layer would compute from the float ones)."""
    out, i = [], 0
    while i < len(chain):
        layer, pool, j = chain[i], None, i + 1
        if isinstance(layer, QuantizedConv2D) and layer.after_act is None and layer.output_scale is None:
            nxt = chain[j] if j < len(chain) else None
            if isinstance(nxt, MaxPooling2D) and nxt.padding == "valid" and nxt.data_format == "channels_last":
                pool, j = (nxt.pool_size, nxt.strides or nxt.pool_size), j + 1
            k = j
            while k < len(chain) and isinstance(chain[k], (Flatten, torch_linear.Flatten)):
                k += 1
            if k < len(chain) and isinstance(chain[k], _Quantized):
                layer.pool, layer.output_scale = None, float(chain[k].input_scale[0])
                if pool is not None:
                    layer.pool = (pair(pool[0]), pair(pool[1]))
                out.append(layer)
                i = j
                continue
        out.append(layer)
        i += 1
    return out


def quantize_model(model, calibration_x, batch_size=256, fuse=True):
    """An int8 ``nn.Sequential`` for inference from a float chain of layers, with activation
    ranges calibrated on ``calibration_x`` (a few hundred training images are enough).
    ``fuse``: keep activations int8 between quantized layers (:func:`_fuse`; same outputs)."""
    from .qat import FakeQuant
    chain = _chain(model)
    ranges = calibrate(model, calibration_x, batch_size)
    out = []
    for i, layer in enumerate(chain):
        if _quantizable(layer):
            scale = ranges[i] / QMAX if ranges.get(i, 0) > 0 else 1.0
            cls = QuantizedDense if isinstance(layer, Dense) else QuantizedConv2D
            out.append(cls.from_float(layer, scale))
        elif isinstance(layer, (Dropout, torch_dropout.Dropout, FakeQuant)):
            continue  # the identity at inference; FakeQuant's range went into the next layer's scale
        elif type(layer) in _KEPT and (not isinstance(layer, torch_linear.Flatten)
                                       or (layer.start_dim, layer.end_dim) == (1, -1)):
            out.append(layer)
        else:
            raise NotImplementedError(f"quantize_model: layer '{layer.name}' ({type(layer).__name__}) is not "
                                      f"supported; supported: Dense, Conv2D, Dropout and {sorted(c.__name__ for c in _KEPT)}")
    q = Sequential(*(_fuse(out) if fuse else out))
    q.eval()
    return q


def error_bound(x_abs_sum, w_abs_sum, s_x, s_w, k):
    """Worst-case |int8 output - float output| of one pre-activation value:
    with |x - x̂| <= s_x/2 and |w - ŵ| <= s_w/2 per element, the error of sum x w is at most
    ``s_x/2 * sum|w| + s_w/2 * sum|x| + k * s_x s_w / 4`` (k terms)."""
    return s_x / 2 * w_abs_sum + s_w / 2 * x_abs_sum + k * s_x * s_w / 4


# ---- saving ----------------------------------------------------------------------------------------

def save_quantized(path, qmodel):
    """Write an int8 model (from :func:`quantize_model`) to ``path``: int8 weights, float32
    scales and biases, the layer list as JSON metadata (atomic ``.npz``; nothing pickled)."""
    arrays, layers = {}, []
    for i, layer in enumerate(qmodel):
        entry = {"type": type(layer).__name__, "name": layer.name}
        if isinstance(layer, _Quantized):
            for b in ("weight_int8", "weight_scale", "input_scale", "bias"):
                arrays[f"{i}.{b}"] = getattr(layer, b)
            entry.update(layer.config())
        elif type(layer) in _KEPT and (not isinstance(layer, torch_linear.Flatten)
                                       or (layer.start_dim, layer.end_dim) == (1, -1)):
            for attr in _KEPT[type(layer)]:
                v = getattr(layer, attr)
                entry[attr] = list(v) if isinstance(v, tuple) else v
        else:
            raise TypeError(f"save_quantized: cannot save layer {layer.name} ({type(layer).__name__})")
        layers.append(entry)
    save_state(path, arrays, {"kind": "tinydl-int8", "layers": layers})


def load_quantized(path):
    """Rebuild the ``nn.Sequential`` written by :func:`save_quantized`."""
    arrays, meta = load_state(path)
    if meta.get("kind") != "tinydl-int8":
        raise CheckpointError(f"{path}: not an int8 model file (kind {meta.get('kind')!r})", path)
    kept = {c.__name__: c for c in _KEPT}
    out = []
    for i, e in enumerate(meta.get("layers", [])):
        t = e.get("type")
        if t in ("QuantizedDense", "QuantizedConv2D"):
            try:
                a = [arrays[f"{i}.{b}"] for b in ("weight_int8", "weight_scale", "input_scale", "bias")]
            except KeyError as k:
                raise CheckpointError(f"{path}: layer {i} ({t}) lacks {k}", path) from None
            if a[0].dtype != np.int8 or a[0].ndim != 2 or a[1].shape != (a[0].shape[0],) or a[3].shape != a[1].shape:
                raise CheckpointError(f"{path}: layer {i} ({t}) has inconsistent arrays", path)
            if t == "QuantizedDense":
                out.append(QuantizedDense(a[0], a[1], float(a[2][0]), a[3], e.get("activation"), name=e["name"]))
            else:
                pad = e["padding"] if isinstance(e["padding"], str) else tuple(map(tuple, e["padding"])) \
                    if isinstance(e["padding"][0], list) else tuple(e["padding"])
                out.append(QuantizedConv2D(a[0], a[1], float(a[2][0]), a[3], e["kernel_size"], e["strides"], pad,
                                           e["dilation_rate"], e.get("activation"), e.get("pool"),
                                           e.get("output_scale"), name=e["name"]))
        elif t in kept:
            kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in e.items() if k not in ("type", "name")}
            layer = kept[t](**kwargs)
            layer.name = e["name"]
            out.append(layer)
        else:
            raise CheckpointError(f"{path}: unknown layer type {t!r}", path)
    q = Sequential(*out)
    q.eval()
    return q


def model_nbytes(model):
    """Bytes of every parameter and buffer array of ``model`` (the raw size of its weights)."""
    return int(sum(np.asarray(v).nbytes for v in model.state_dict().values()))
