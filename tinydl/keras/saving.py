"""A Keras model's weights and files: listing, counting, getting and setting weights, weight
files, and whole models in ``.keras`` files (``model.save`` / ``load_model``), JSON
architectures (``to_json`` / ``model_from_json``), ``clone_model`` and
``register_keras_serializable``.

Weight files are ``.npz`` archives written atomically and loaded without pickle, with every
name, shape and dtype checked before the model is touched (``tinydl.io``). The ``.keras`` format
is in ``model_files.py``. ``.h5`` files (HDF5) are not supported: they raise NotImplementedError.
"""
import os

import numpy as np

from .. import io as _io


class WeightsMixin:
    """The weight methods of ``Model`` (Keras's names)."""

    @property
    def weights(self):
        return list(self.parameters())

    @property
    def trainable_weights(self):
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self):
        return [p for p in self.parameters() if not p.requires_grad]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def variables(self):
        return self.weights

    def count_params(self):
        """Every weight's size, trainable or not (BatchNormalization's moving statistics included)."""
        self._require_built("count_params")
        return int(sum(np.asarray(v).size for v in self.state_dict().values()))

    def get_weights(self):
        """Weights as numpy arrays, layer by layer (parameters, then buffers), as Keras orders them."""
        return [np.array(v, copy=True) for v in self.state_dict().values()]

    def set_weights(self, weights):
        state = self.state_dict()
        weights = list(weights)
        if len(weights) != len(state):
            raise ValueError(f"{self.name}.set_weights: expected a list of {len(state)} arrays, got {len(weights)}")
        new = {}
        for (k, cur), w in zip(state.items(), weights):
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"{self.name}.set_weights: weight {len(new)} ('{k}') expects shape {cur.shape}, "
                                 f"got {w.shape}")
            new[k] = w.astype(cur.dtype, copy=False)
        self.load_state_dict(new)

    def save_weights(self, filepath, overwrite=True):
        """Write every weight to ``filepath`` (an .npz file, written atomically; see tinydl.io)."""
        _refuse_hdf5(filepath, "save_weights")
        self._require_built("save_weights")
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath} exists (overwrite=False)")
        _io.save_weights(filepath, self)

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (or the weights of a checkpoint). Every name, shape
        and dtype is checked first; on any problem a ``tinydl.io.CheckpointError`` is raised and the
        model is unchanged."""
        _refuse_hdf5(filepath, "load_weights")
        self._require_built("load_weights")
        _io.load_weights(filepath, self)
        return self

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Keras's ``model.save('name.keras')``: architecture, weights and compile settings in one
        zip file (see ``model_files``)."""
        from .model_files import save_model
        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def get_config(self):
        """A Sequential or functional model's architecture (Keras's layout)."""
        from .model_files import model_config
        return model_config(self)["config"]

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .model_files import model_from_config
        kind = "Sequential" if "layers" in config and "input_layers" not in config else "Functional"
        return model_from_config({"class_name": kind, "config": config}, custom_objects)

    def to_json(self, **kwargs):
        """The architecture as a JSON string (``keras.models.model_from_json`` reads it back)."""
        import json
        from .model_files import model_config
        return json.dumps(model_config(self), **kwargs)


def _refuse_hdf5(filepath, what):
    if str(os.fspath(filepath)).endswith((".h5", ".hdf5")):
        raise NotImplementedError(f"{what}: HDF5 files ({filepath}) are not supported (tinydl has no HDF5 writer); "
                                  "use a '.weights.npz' path, or model.save('model.keras')")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Keras's ``keras.models.load_model``: a model saved by ``model.save('name.keras')``."""
    from .model_files import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    model.save(filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string, custom_objects=None):
    import json
    from .model_files import model_from_config
    return model_from_config(json.loads(json_string), custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """Keras's ``clone_model``: the same architecture with new (freshly initialized) weights."""
    if input_tensors is not None or clone_function is not None or call_function is not None or kwargs:
        raise NotImplementedError("clone_model: input_tensors / clone_function / call_function are not supported")
    from .model_files import model_config, model_from_config
    return model_from_config(model_config(model, rename=False), fresh_names=True)


def register_keras_serializable(package="Custom", name=None):
    """Decorator: registers a class (a layer, ...) as ``'package>Name'`` so ``load_model`` and
    ``from_config`` find it without ``custom_objects``."""
    from ..nn.layers.config import REGISTRY

    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to {REGISTRY[key]!r}")
        REGISTRY[key] = cls
        return cls
    return decorate


def get_registered_name(obj):
    from ..nn.layers.config import registered_name
    return registered_name(obj if isinstance(obj, type) else type(obj))


def get_registered_object(name, custom_objects=None, module_objects=None):
    from ..nn.layers.config import REGISTRY
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in REGISTRY:
        return REGISTRY[name]
    return (module_objects or {}).get(name)
