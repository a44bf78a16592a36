"""Whole models in files: the ``.keras`` format, model configurations (``get_config`` /
``to_json``), and rebuilding a model from one.

A ``.keras`` file is a zip archive with exactly three entries:

* ``metadata.json``: ``{"format": "tinydl.keras", "format_version": 1, "keras_version": "3",
  "tinydl_version": ..., "date_saved": ...}``;
* ``config.json``: ``{"class_name": "Sequential" | "Functional" | "<registered name>",
  "config": {...}, "compile_config": {...} | null}``. A Sequential's config lists its layers
  (``{"class_name", "config"}``, an ``InputLayer`` first when the input shape is known); a
  functional model's lists its layers, the layer calls in order (``nodes``: ``{"layer": name,
  "args": refs, "kwargs": {}}``, a ref being ``[layer name, call index, output index]``) and
  its ``input_layers`` / ``output_layers`` refs. Each layer's config is its ``get_config()``;
  a lookup layer's vocabulary is in its config (Keras keeps it in an asset file);
* ``model.weights.npz``: the model's ``state_dict()`` as a ``tinydl.io`` weights file (named
  arrays, SHA-256 sums, no pickle).

Loading is bounded: entry names must be exactly those three; each entry's declared size is
checked (against its compressed size, and the JSON entries against 64 MiB) before it is read;
classes are found only among tinydl's layers, ``register_keras_serializable`` and
``custom_objects`` (nothing is imported by name); the weights file's array headers are read
first, and building the model may not allocate more weight memory than they declare; then
``tinydl.io.load_weights`` checks every name, shape, dtype and checksum.
Not saved: the optimizer's state (use ``tinydl.io.save_checkpoint`` to resume training).
"""
import datetime
import json
import os
import shutil
import tempfile
import zipfile

from .. import io as _io
from ..nn.layers import config as _cfg
from ..nn.layers.base import Layer
from .graph import Input, InputLayer, KerasTensor

ENTRIES = ("metadata.json", "config.json", "model.weights.npz")
MAX_JSON_BYTES = 64 << 20
_DEFLATE_MAX_RATIO = 1032


# ================================================================ configurations
def _layer_entry(layer):
    from .models import Model
    if isinstance(layer, Model):
        return model_config(layer)
    config = layer.get_config()
    _check_json(config, f"layer '{layer.name}' ({type(layer).__name__})")
    return {"class_name": _cfg.registered_name(type(layer)), "config": config}


def _check_json(config, what):
    try:
        json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: its configuration is not plain data ({exc}); a Lambda's function or a custom "
                         "object cannot be saved: write a layer class with get_config and register it with "
                         "keras.saving.register_keras_serializable") from None


def model_config(model, rename=True):
    """``{"class_name": ..., "config": ...}`` of a Sequential or functional model."""
    from .models import Sequential
    if isinstance(model, Sequential):
        layers = []
        if model._input_spec is not None:
            shape, dtype = model._input_spec
            layers.append({"class_name": "InputLayer", "config": {"batch_shape": [None] + list(shape),
                                                                  "dtype": str(dtype), "name": model.name + "_input"}})
        layers += [_layer_entry(l) for l in model.layers]
        return {"class_name": "Sequential", "config": {"name": model.name, "trainable": bool(model.trainable),
                                                        "layers": layers}}
    graph = getattr(model, "_graph", None)
    if graph is None:
        if type(model).get_config is not Layer.get_config and _cfg.registered_name(type(model)) in _cfg.REGISTRY:
            return {"class_name": _cfg.registered_name(type(model)), "config": model.get_config()}
        raise NotImplementedError(f"{model.name}: saving a subclassed Model needs get_config() and "
                                  "keras.saving.register_keras_serializable(); or save its weights")
    calls, node_ids = {}, {}
    for node in graph.nodes:
        calls[id(node.layer)] = calls.get(id(node.layer), -1) + 1
        node_ids[id(node)] = calls[id(node.layer)]

    def ref(kt):
        if kt._node is None:
            return [kt._input_layer.name, 0, 0]
        return [kt._node.layer.name, node_ids[id(kt._node)], next(i for i, o in enumerate(kt._node.outputs) if o is kt)]

    def refs(struct):
        if isinstance(struct, KerasTensor):
            return ref(struct)
        if isinstance(struct, (list, tuple)):
            return {"list": [refs(s) for s in struct]}
        raise NotImplementedError(f"{model.name}: saving a model whose inputs/outputs are {type(struct).__name__}")

    names = [l.name for l in graph.layers]
    if len(set(names)) != len(names):
        raise ValueError(f"{model.name}: layer names must be unique to save a functional model, got {names}")
    layers = []
    for layer in graph.layers:
        if isinstance(layer, InputLayer):
            layers.append({"class_name": "InputLayer", "config": {
                "batch_shape": [layer.batch_size] + list(layer.shape), "dtype": str(layer.output.dtype),
                "name": layer.name}})
        else:
            layers.append(_layer_entry(layer))
    nodes = []
    for node in graph.nodes:
        kwargs = {k: _cfg.serialize_value(v) for k, v in node.kwargs.items()}
        _check_json(kwargs, f"the call of layer '{node.layer.name}'")
        nodes.append({"layer": node.layer.name, "args": refs(node.arg), "kwargs": kwargs})
    return {"class_name": "Functional", "config": {
        "name": model.name, "trainable": bool(model.trainable), "layers": layers, "nodes": nodes,
        "input_layers": refs(graph.inputs), "output_layers": refs(graph.outputs)}}


def _build_layer(entry, custom_objects):
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
            or not isinstance(entry.get("config"), dict):
        raise ValueError(f"a layer entry must be {{'class_name': str, 'config': dict}}, got {str(entry)[:200]}")
    if entry["class_name"] in ("Sequential", "Functional"):
        return model_from_config(entry, custom_objects)
    cls = _cfg.resolve_class(entry["class_name"], custom_objects)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"{entry['class_name']!r} is not a layer class")
    return cls.from_config(entry["config"], custom_objects) if _takes_custom(cls) else cls.from_config(entry["config"])


def _takes_custom(cls):
    import inspect
    try:
        return "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        return False


def model_from_config(config, custom_objects=None, fresh_names=False):
    """Rebuild a model from ``model_config``'s output (or Keras-layout JSON of the same shape)."""
    from .models import Model, Sequential
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("a model config must be a dict with 'class_name' and 'config'")
    kind, body = config["class_name"], config.get("config", {})
    if kind == "Sequential":
        model = Sequential(name=body.get("name"))
        for entry in body.get("layers", []):
            if entry.get("class_name") == "InputLayer":
                c = entry["config"]
                shape = c.get("batch_shape") or [None] + list(c.get("shape", []))
                model.add(Input(shape=tuple(shape[1:]), dtype=c.get("dtype", "float32")))
            else:
                model.add(_build_layer(entry, custom_objects))
        model.trainable = bool(body.get("trainable", True))
        return model
    if kind != "Functional":
        cls = _cfg.resolve_class(kind, custom_objects)
        return cls.from_config(body)
    env, layers = {}, {}
    for entry in body.get("layers", []):
        if entry.get("class_name") == "InputLayer":
            c = entry["config"]
            kt = Input(shape=tuple(c["batch_shape"][1:]), batch_size=c["batch_shape"][0],
                       dtype=c.get("dtype", "float32"), name=c.get("name"))
            env[(c.get("name"), 0, 0)] = kt
        else:
            layer = _build_layer(entry, custom_objects)
            layers[entry["config"].get("name", layer.name)] = layer

    def resolve(r):
        if isinstance(r, dict) and "list" in r:
            return [resolve(x) for x in r["list"]]
        key = (r[0], r[1], r[2])
        if key not in env:
            raise ValueError(f"model config: reference {r} to a tensor not produced yet")
        return env[key]

    calls = {}
    for node in body.get("nodes", []):
        name = node["layer"]
        if name not in layers:
            raise ValueError(f"model config: a node calls unknown layer {name!r}")
        idx = calls[name] = calls.get(name, -1) + 1
        out = layers[name](resolve(node["args"]), **node.get("kwargs", {}))
        outs = out if isinstance(out, (list, tuple)) else [out]
        for i, o in enumerate(outs):
            env[(name, idx, i)] = o
    model = Model(inputs=resolve(body["input_layers"]), outputs=resolve(body["output_layers"]), name=body.get("name"))
    model.trainable = bool(body.get("trainable", True))
    return model


# ================================================================ compile settings
def _compile_config(model):
    from . import losses as klosses, optimizers as kopt
    if not getattr(model, "_compiled", False):
        return None
    opt = getattr(model, "optimizer", None)
    loss = getattr(model, "loss", None)
    out = {"optimizer": kopt.serialize(opt) if isinstance(opt, kopt.Optimizer) else None, "loss": None,
           "metrics": []}
    if isinstance(loss, str):
        out["loss"] = loss
    elif isinstance(loss, klosses.Loss) and type(loss).__name__ in klosses.__all__:
        out["loss"] = {"class_name": type(loss).__name__, "config": loss.get_config()}
    for m in getattr(model, "compiled_metrics", []) or []:
        out["metrics"].append(m.name)
    try:
        json.dumps(out)
    except (TypeError, ValueError):
        return None
    return out


def _compile_from(model, cc):
    from . import losses as klosses, optimizers as kopt
    if not cc:
        return
    loss = cc.get("loss")
    if isinstance(loss, dict):
        cls = getattr(klosses, loss.get("class_name", ""), None)
        if not (isinstance(cls, type) and issubclass(cls, klosses.Loss)):
            raise ValueError(f"unknown loss in compile_config: {loss!r}")
        loss = cls(**loss.get("config", {}))
    optimizer = kopt.deserialize(cc["optimizer"]) if cc.get("optimizer") else "rmsprop"
    metrics = [m for m in cc.get("metrics", []) if isinstance(m, str)]
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics or None)


# ================================================================ the .keras file
def save_model(model, filepath, overwrite=True, **kwargs):
    path = os.fspath(filepath)
    if kwargs.pop("save_format", None) not in (None, "keras") or kwargs:
        raise NotImplementedError(f"save: arguments {sorted(kwargs)} / save_format are not supported")
    if path.endswith((".h5", ".hdf5")):
        raise NotImplementedError(f"save: HDF5 files ({path}) are not supported; use a '.keras' path")
    if not path.endswith(".keras"):
        raise ValueError(f"save: the file path must end in '.keras', got {path!r} (TensorFlow SavedModel "
                         "directories are not supported)")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists (overwrite=False)")
    model._require_built("save")
    config = model_config(model)
    config["compile_config"] = _compile_config(model)
    import tinydl
    meta = {"format": "tinydl.keras", "format_version": 1, "keras_version": "3",
            "tinydl_version": getattr(tinydl, "__version__", "?"),
            "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    directory = os.path.dirname(os.path.abspath(path))
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        weights = os.path.join(tmp, "model.weights.npz")
        _io.save_weights(weights, model)
        staged = os.path.join(tmp, "model.keras")
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("metadata.json", json.dumps(meta, indent=1))
            z.writestr("config.json", json.dumps(config, indent=1))
            z.write(weights, "model.weights.npz", compress_type=zipfile.ZIP_STORED)
        os.replace(staged, path)


def _check_entry(info, path, limit=None):
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"{path}: entry {info.filename!r} is encrypted or uses an unknown compression; refused")
    bound = info.compress_size if info.compress_type == zipfile.ZIP_STORED else \
        info.compress_size * _DEFLATE_MAX_RATIO + 1024
    if info.file_size > bound:
        raise ValueError(f"{path}: entry {info.filename!r} declares {info.file_size} bytes from {info.compress_size} "
                         "compressed bytes, which is impossible; refused")
    if limit is not None and info.file_size > limit:
        raise ValueError(f"{path}: entry {info.filename!r} declares {info.file_size} bytes, more than {limit}; refused")


def _read_bounded(z, info, out):
    remaining = info.file_size
    with z.open(info) as src:
        while True:
            chunk = src.read(min(1 << 20, remaining + 1))
            if not chunk:
                break
            remaining -= len(chunk)
            if remaining < 0:
                raise ValueError(f"entry {info.filename!r} holds more than its declared size; refused")
            out.write(chunk)


class _HeadersRead(_io.CheckpointError):
    """Raised by the header check to stop load_state before it inflates anything."""

    def __init__(self):
        super().__init__("headers read")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    path = os.fspath(filepath)
    if path.endswith((".h5", ".hdf5")):
        raise NotImplementedError(f"load_model: HDF5 files ({path}) are not supported")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load_model: {path} is not a .keras file (not a zip archive)")
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(path) as z:
            infos = {i.filename: i for i in z.infolist()}
            if sorted(infos) != sorted(ENTRIES):
                raise ValueError(f"load_model: {path} holds entries {sorted(infos)[:10]}; a .keras file holds exactly "
                                 f"{list(ENTRIES)}")
            docs = {}
            for name in ("metadata.json", "config.json"):
                _check_entry(infos[name], path, MAX_JSON_BYTES)
                import io as _bytes_io
                buf = _bytes_io.BytesIO()
                _read_bounded(z, infos[name], buf)
                try:
                    docs[name] = json.loads(buf.getvalue().decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ValueError(f"load_model: {path}: {name} is not valid JSON ({exc})") from None
            _check_entry(infos["model.weights.npz"], path)
            weights = os.path.join(tmp, "model.weights.npz")
            with open(weights, "wb") as out:
                _read_bounded(z, infos["model.weights.npz"], out)
        meta = docs["metadata.json"]
        if not isinstance(meta, dict) or meta.get("format") != "tinydl.keras":
            raise ValueError(f"load_model: {path} was not written by tinydl (metadata {str(meta)[:200]})")
        declared = {}

        def headers(stubs, _meta):
            declared.update({k: v.nbytes for k, v in stubs.items()})
            raise _HeadersRead
        try:
            _io.load_state(weights, check=headers)
        except _HeadersRead:
            pass
        config = docs["config.json"]
        with _cfg.weight_budget(sum(declared.values()) + (1 << 16), f"load_model: {path}"):
            model = model_from_config(config, custom_objects)
        _io.load_weights(weights, model)
    if compile:
        _compile_from(model, config.get("compile_config"))
    return model
