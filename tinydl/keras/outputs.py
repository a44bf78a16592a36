"""Losses and metrics of a model with several outputs: Keras's lists and dicts, ``loss_weights``
and the per-output names of the history (``loss``, ``<output>_loss``, ``<output>_<metric>``).

An output is named after the layer that produces it (Keras's ``model.output_names``). ``loss``
may be one loss (applied to every output), a list (one per output) or a dict by output name (an
output without an entry has no loss); ``loss_weights`` a list or dict (default 1); ``metrics`` a
list of lists, a dict by output name, or a flat list (applied to every output). Targets ``y``
come as a list in output order or a dict by output name.
"""
import numpy as np

from . import losses as klosses
from . import metrics as kmetrics


def _per_output(value, names, what, default=None):
    """One entry per output from a single value, a list or a dict by output name."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"compile: {what} has keys {unknown} that are not output names {names}")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} has {len(value)} entries, the model has {len(names)} outputs {names}")
        return list(value)
    return [value] * len(names)


class MultiOutput:
    """The compiled losses, weights and metrics of each output."""

    def __init__(self, names, loss, loss_weights, metrics, loss_name_of):
        self.names = list(names)
        raw = _per_output(loss, self.names, "loss")
        self.losses = [None if l is None else klosses.get(l) for l in raw]
        weights = _per_output(loss_weights if loss_weights is not None else 1.0, self.names, "loss_weights", 0.0)
        self.weights = [float(w) for w in weights]
        if metrics is None:
            per = [None] * len(self.names)
        elif isinstance(metrics, dict):
            per = _per_output(metrics, self.names, "metrics")
        elif isinstance(metrics, (list, tuple)) and metrics and all(isinstance(m, (list, tuple)) or m is None
                                                                     for m in metrics):
            per = _per_output(list(metrics), self.names, "metrics")
        else:
            per = [metrics] * len(self.names)
        self.metrics = []
        for name, ms, l in zip(self.names, per, raw):
            resolved = kmetrics.resolve(ms, loss_name_of(l))
            for m in resolved:
                m.name = f"{name}_{m.name}"
            self.metrics.append(resolved)
        self.trackers = [kmetrics.Mean(name=f"{n}_loss") if l is not None else None
                         for n, l in zip(self.names, self.losses)]

    def all_metrics(self):
        return [m for ms in self.metrics for m in ms]

    def split_targets(self, y, who):
        """``y`` as a list in output order."""
        if isinstance(y, dict):
            missing = [n for n, l in zip(self.names, self.losses) if l is not None and n not in y]
            if missing:
                raise ValueError(f"{who}: y has no targets for output(s) {missing} (got {sorted(y)})")
            return [y.get(n) for n in self.names]
        if isinstance(y, (list, tuple)) and len(y) == len(self.names):
            return list(y)
        raise ValueError(f"{who}: a model with outputs {self.names} needs y as a list of {len(self.names)} "
                         "arrays or a dict by output name")

    def loss(self, ys, outs, sample_weight):
        """The weighted sum of the outputs' losses; updates each output's loss tracker."""
        total = None
        for i, (loss, w, y, out) in enumerate(zip(self.losses, self.weights, ys, outs)):
            if loss is None:
                continue
            value = loss(y, out, sample_weight)
            if value.ndim:
                value = value.mean()
            self.trackers[i].update_state(float(value.item()), sample_weight=len(np.asarray(y)))
            term = value * w
            total = term if total is None else total + term
        return total

    def update_metrics(self, ys, outs_np, sample_weight=None):
        for ms, y, out in zip(self.metrics, ys, outs_np):
            for m in ms:
                m.update_state(y, out)

    def reset(self):
        for t in self.trackers:
            if t is not None:
                t.reset_state()
        for m in self.all_metrics():
            m.reset_state()

    def logs(self):
        out = {}
        for t in self.trackers:
            if t is not None:
                out[t.name] = t.result()
        for m in self.all_metrics():
            out[m.name] = m.result()
        return out
