"""Keras-style callbacks for compression inside ``model.fit``."""
from ..keras.callbacks import Callback
from .prune import GradualPruner

__all__ = ["GradualPruning"]


class GradualPruning(Callback):
    """Prune the model along ``schedule`` (e.g. ``PolynomialSparsity``) during ``fit``: after
    every training batch, as TensorFlow Model Optimization's ``UpdatePruningStep`` does.
    ``scope`` 'layer' or 'global'; ``layers`` restricts to layer names."""

    def __init__(self, schedule, scope="layer", layers=None):
        super().__init__()
        self.schedule, self.scope, self.layers = schedule, scope, layers
        self.pruner = None

    def on_train_batch_end(self, batch, logs=None):
        if self.pruner is None:
            self.pruner = GradualPruner(self.model, self.schedule, self.scope, self.layers)
        self.pruner.step()
