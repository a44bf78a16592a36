"""Layer configurations (Keras's ``get_config``/``from_config``): a layer's constructor
arguments, captured when it is created (``Layer.__new__``), with defaults filled in from the
signatures, plus ``name``, ``trainable`` and ``dtype``. Values are made JSON-friendly:
initializers, regularizers, constraints and nested layers become ``{"class_name", "config"}``
dicts (and back in ``from_config``); plain functions (activations) by name.

Classes are found by name in ``REGISTRY`` (filled by ``tinydl.keras`` with its layers and by
``register_keras_serializable``), so loading never imports arbitrary modules.
"""
import contextlib
import contextvars
import inspect

import numpy as np

REGISTRY = {}           # "ClassName" or "package>ClassName" -> class (layers and other serializables)
_BASE_ARGS = ("name", "trainable", "dtype", "input_shape", "input_dim", "batch_input_shape")


def _signature_params(cls):
    """Constructor parameters (name -> default or inspect._empty), following **kwargs up the MRO."""
    params = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass.__name__ == "Layer" or klass.__module__.endswith("nn.module"):
            break
        sig = inspect.signature(init)
        more = False
        for name, p in list(sig.parameters.items())[1:]:
            if p.kind is p.VAR_KEYWORD:
                more = True
            elif p.kind is not p.VAR_POSITIONAL and name not in params:
                params[name] = p.default
        if not more:
            break
    return params


def serialize_value(value):
    from .base import Layer
    if isinstance(value, Layer):
        return {"class_name": registered_name(type(value)), "config": value.get_config()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [serialize_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: serialize_value(v) for k, v in value.items()}
    if hasattr(value, "get_config") and not inspect.isclass(value):
        return {"class_name": registered_name(type(value)), "config": serialize_value(value.get_config())}
    if callable(value) and getattr(value, "__name__", "<lambda>") != "<lambda>":
        for key, obj in REGISTRY.items():   # a registered function: 'package>name'
            if obj is value and ">" in key:
                return key
        return value.__name__
    return value   # not JSON data (a lambda, ...): kept as is; saving to a file refuses it


def registered_name(cls):
    for key, c in REGISTRY.items():
        if c is cls and ">" in key:
            return key
    return cls.__name__


def resolve_class(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in REGISTRY:
        return REGISTRY[name]
    short = name.split(">")[-1]
    if custom_objects and short in custom_objects:
        return custom_objects[short]
    raise ValueError(f"unknown class {name!r}: pass it in custom_objects= or decorate it with "
                     "keras.saving.register_keras_serializable()")


def deserialize_value(key, value, custom_objects=None):
    """Undo ``serialize_value`` for a constructor argument ``key``."""
    from . import keras_util  # noqa: F401  (initializers/constraints live beside it)
    from .. import constraints, initializers, regularizers
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        if key.endswith("initializer"):
            return initializers.resolve(value) if value["class_name"] in initializers.CLASSES else \
                resolve_class(value["class_name"], custom_objects).from_config(value["config"])
        if key.endswith("regularizer"):
            return regularizers.get(value)
        if key.endswith("constraint"):
            return constraints.get(value) if value["class_name"] in constraints.CLASSES else \
                resolve_class(value["class_name"], custom_objects).from_config(value["config"])
        cls = resolve_class(value["class_name"], custom_objects)
        return cls.from_config(value["config"])
    if isinstance(value, str) and (value in REGISTRY or (custom_objects and value in custom_objects)):
        return resolve_class(value, custom_objects)   # a registered or custom function (an activation)
    return value


def layer_config(layer):
    args, kwargs = layer.__dict__.get("_init_call", ((), {}))
    params = _signature_params(type(layer))
    names = list(params)
    config = {"name": layer.name, "trainable": bool(layer.trainable), "dtype": str(getattr(layer, "dtype", "float32"))}
    given = dict(zip(names, args))
    given.update(kwargs)
    for name, default in params.items():
        if name in given:
            config[name] = given[name]
        elif default is not inspect.Parameter.empty:
            config[name] = default
    for name in _BASE_ARGS[3:]:
        if given.get(name) is not None:
            config[name] = given[name]
    for name, value in kwargs.items():
        if name not in config:
            config[name] = value
    config.pop("self", None)
    return {k: serialize_value(v) for k, v in config.items()}


def layer_from_config(cls, config, custom_objects=None):
    config = dict(config)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):   # Keras 3 writes a DTypePolicy
        config["dtype"] = dtype.get("config", {}).get("name", "float32")
    return cls(**{k: deserialize_value(k, v, custom_objects) for k, v in config.items()})


# ---- the memory a model being loaded from a file may allocate --------------------------------------
_BUDGET = contextvars.ContextVar("tinydl_weight_budget", default=None)


class BudgetExceeded(ValueError):
    """A configuration asks for more weight memory than its weights file holds."""


@contextlib.contextmanager
def weight_budget(nbytes, what):
    """Inside: ``charge`` refuses weights beyond ``nbytes`` in total (a hostile config that
    declares huge layers fails before allocating them)."""
    token = _BUDGET.set([int(nbytes), what])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def charge(layer, name, shape, dtype):
    budget = _BUDGET.get()
    if budget is None:
        return
    need = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    budget[0] -= need
    if budget[0] < 0:
        raise BudgetExceeded(f"{budget[1]}: layer '{layer.name}' asks for weight '{name}' of shape {tuple(shape)}, "
                             "more than the file's weights hold; the configuration does not match its weights")
