"""A Keras model's weights: listing, counting, getting and setting them, and saving them to files.

Weight files are ``.npz`` archives written atomically and loaded without pickle, with every
name, shape and dtype checked before the model is touched (``tinydl.io``). Architectures are not
serialized: rebuild the model in code and load its weights.
"""
import os

import numpy as np

from .. import io as _io


class WeightsMixin:
    """The weight methods of ``Model`` (Keras's names)."""

    @property
    def weights(self):
        return self.parameters()

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
        self._require_built("save_weights")
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath} exists (overwrite=False)")
        _io.save_weights(filepath, self)

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (or the weights of a checkpoint). Every name, shape
        and dtype is checked first; on any problem a ``tinydl.io.CheckpointError`` is raised and the
        model is unchanged."""
        self._require_built("load_weights")
        _io.load_weights(filepath, self)
        return self

    def save(self, filepath, *args, **kwargs):
        raise NotImplementedError(
            "tinydl.keras does not serialize model architectures: rebuild the model in code and use "
            "model.save_weights(path) / model.load_weights(path), or tinydl.io.save_checkpoint(path, model) "
            "to include the optimizer state")


def load_model(*args, **kwargs):
    raise NotImplementedError("tinydl.keras does not serialize architectures; rebuild the model in code "
                              "and call model.load_weights(path)")
