"""Keras's training API for ``Model``: ``compile``, ``fit``, ``evaluate``, ``predict`` and the
``*_on_batch`` methods.

The three loops take their data from one :class:`~tinydl.keras.data_adapter.DataAdapter`
(checking, casting, batching, shuffling) and share the per-batch work (``_train_step``,
``_test_step``). ``fit`` follows tf.keras: ``validation_split`` holds out the *last* fraction of
the data before shuffling, batches come in a fresh order every epoch from tinydl's seeded
generator (``tinydl.manual_seed``), and the last partial batch is used. The loss reported is the
running mean over the epoch (weighted by batch size), regularization penalties included;
``TerminateOnNaN`` is on unless ``terminate_on_nan=False`` (in ``fit`` or ``compile``).
"""
import functools

import numpy as np

from ..core.autograd import no_grad
from . import callbacks as cbks
from . import distribute as kdist
from . import losses as klosses
from . import metrics as kmetrics
from . import optimizers as kopt
from .data_adapter import DataAdapter, batch_tensors
from .graph import flatten_structure

_LOSS_NAMES = {klosses.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
               klosses.CategoricalCrossentropy: "categorical_crossentropy",
               klosses.BinaryCrossentropy: "binary_crossentropy",
               klosses.MeanSquaredError: "mean_squared_error", klosses.MeanAbsoluteError: "mean_absolute_error"}


def _loss_name(loss):
    if isinstance(loss, str):
        return _LOSS_NAMES.get(type(klosses.get(loss)))
    if isinstance(loss, klosses.Loss):
        return _LOSS_NAMES.get(type(loss))
    if callable(loss):
        name = getattr(loss, "__name__", "")
        return name if name in _LOSS_NAMES.values() else None
    return None


def _batch_size(batch_size, who):
    """None -> 32 (Keras's default); anything but a positive integer is refused."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{who}: batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _verbosity(verbose):
    return 1 if verbose == "auto" else int(verbose)


class Trainer:
    """The training methods of ``Model``; the model provides ``forward``, ``_call_values``,
    ``_ensure_built`` and the input description the data adapter reads."""

    def _init_training_state(self):
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._compiled = False
        self._terminate_on_nan = True
        self._bound_count = -1
        self._distribute_strategy = kdist.get_strategy()  # set when created in a strategy's scope

    # ================================================================ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=None, steps_per_execution=None, jit_compile=None, terminate_on_nan=True, **kwargs):
        """Configure training: ``optimizer`` (a name, with Keras's defaults, or an object), ``loss`` (a
        name, a ``tinydl.keras.losses`` object or a function ``f(y_true, y_pred)``), ``metrics``.

        ``terminate_on_nan`` (tinydl): stop ``fit`` when the loss becomes NaN/inf (default True).
        Arguments about graph compilation (``run_eagerly``, ``jit_compile``, ``steps_per_execution``)
        are accepted and ignored: tinydl always runs eagerly.
        """
        if kwargs:
            raise TypeError(f"compile: unexpected argument(s) {sorted(kwargs)}")
        if loss_weights is not None:
            raise NotImplementedError("compile: loss_weights (multi-output losses) is not supported")
        self.optimizer = kopt.get(optimizer)
        self.loss = loss
        self.compiled_loss = klosses.get(loss) if loss is not None else None
        loss_name = _loss_name(loss)
        self.compiled_metrics = kmetrics.resolve(metrics, loss_name)
        self.weighted_metrics = kmetrics.resolve(weighted_metrics, loss_name)
        self._terminate_on_nan = bool(terminate_on_nan)
        if kdist.get_strategy() is not None:
            self._distribute_strategy = kdist.get_strategy()
        self._compiled = True
        self._bound_count = -1
        if self.built:
            self._bind_optimizer()

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self.metrics]

    @property
    def metrics(self):
        return list(self.compiled_metrics) + list(getattr(self, "weighted_metrics", []))

    def _require_compiled(self, what):
        if not self._compiled or self.compiled_loss is None:
            raise RuntimeError(f"{self.name}.{what}: you must call compile(optimizer, loss) before {what}()"
                               if not self._compiled else f"{self.name}.{what}: compile() was called without a loss")

    def _bind_optimizer(self):
        params = self.parameters()
        if len(params) == self._bound_count:
            return
        if isinstance(self.optimizer, kopt.Optimizer):
            self.optimizer.build(params)
        self._bound_count = len(params)

    # ================================================================ one batch
    def _compute_loss(self, y, out, sw):
        loss = self.compiled_loss(y, out, sw)
        if loss.ndim:
            loss = loss.mean()
        regs = self.regularization_losses()
        if regs:
            loss = functools.reduce(lambda a, b: a + b, regs, loss)
        return loss

    def _update_metrics(self, y, out_np, sw):
        for m in self.compiled_metrics:
            m.update_state(y, out_np)
        for m in getattr(self, "weighted_metrics", []):
            m.update_state(y, out_np, sw)

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _metric_logs(self, loss_tracker):
        logs = {"loss": loss_tracker.result()}
        for m in self.metrics:
            logs[m.name] = m.result()
        return logs

    def _train_step(self, batch, loss_tracker):
        """One optimizer step on ``batch``; updates the loss tracker and the metrics."""
        out = self.forward(batch_tensors(batch.x))
        if isinstance(out, (list, tuple)):
            raise NotImplementedError(f"{self.name}: training a model with several outputs is not supported")
        self.built = True
        self._bind_optimizer()
        loss = self._compute_loss(batch.y, out, batch.sample_weight)
        self.zero_grad()
        if loss.requires_grad:
            loss.backward()
            self.optimizer.step()
        loss_tracker.update_state(float(loss.item()), sample_weight=batch.size)
        self._update_metrics(batch.y, out.detach().numpy(), batch.sample_weight)

    def _test_step(self, batch, loss_tracker):
        out = self.forward(batch_tensors(batch.x))
        self.built = True
        loss = self._compute_loss(batch.y, out, batch.sample_weight)
        loss_tracker.update_state(float(loss.item()), sample_weight=batch.size)
        self._update_metrics(batch.y, out.detach().numpy(), batch.sample_weight)

    # ================================================================ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            terminate_on_nan=None, check_finite=True):
        """Train for ``epochs`` epochs; returns a ``History`` (``.history`` dict of per-epoch lists, ``.epoch``).

        tinydl extras: ``terminate_on_nan`` (None: as given to ``compile``, True by default) and
        ``check_finite`` (refuse NaN/inf in x and y, default True).

        A model created or compiled in a ``tinydl.keras.distribute.MultiWorkerMirroredStrategy``
        scope trains data-parallel over the processes of an MPI launch; ``batch_size`` is then the
        global batch (see ``tinydl.keras.distribute``).
        """
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        batch_size = _batch_size(batch_size, "fit")
        if validation_batch_size is not None:
            validation_batch_size = _batch_size(validation_batch_size, "fit (validation_batch_size)")
        if not (0.0 <= float(validation_split) < 1.0):
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if x is None:
            raise ValueError("fit: x is None; pass the training inputs")
        if y is None:
            raise ValueError("fit: y is None; pass the training targets")
        data = DataAdapter(self, x, y, sample_weight, class_weight, who="fit", check_finite=check_finite,
                           empty_message="fit: the training data is empty (x has 0 samples); there is nothing "
                                         "to train on")
        self._ensure_built(data.x)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight)")
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = DataAdapter(self, validation_data[0], validation_data[1], vsw, who="fit (validation_data)",
                              check_finite=check_finite, empty_message="fit: validation_data is empty", y_name="y_val")
        elif validation_split:
            data, val = data.split(validation_split, "fit")

        steps = data.num_steps(batch_size, steps_per_epoch)
        history = cbks.History()
        user = list(callbacks or [])
        tnan = self._terminate_on_nan if terminate_on_nan is None else bool(terminate_on_nan)
        if tnan and not any(isinstance(c, cbks.TerminateOnNaN) for c in user):
            user.append(cbks.TerminateOnNaN())
        parallel = None
        if self._distribute_strategy is not None:
            parallel = kdist.DistributedFit(self._distribute_strategy, self)
            user = parallel.callbacks(user)
            if not parallel.is_chief:
                verbose = 0  # rank 0 alone prints progress
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="train")
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size, "samples": len(data)}
        cb = cbks.CallbackList([progbar] + user + [history], model=self, params=params)

        self.stop_training = False
        self.history = history
        loss_tracker = kmetrics.Mean(name="loss")
        epoch_logs = {}
        if parallel is not None:
            parallel.begin()
        cb.on_train_begin({})
        try:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                loss_tracker.reset_state()
                self.train(True)
                cb.on_epoch_begin(epoch, {})
                logs = {}
                batches = (data.batches(batch_size, steps_per_epoch, shuffle=shuffle) if parallel is None
                           else parallel.batches(data, batch_size, steps_per_epoch, shuffle))
                for batch in batches:
                    cb.on_train_batch_begin(batch.index, {})
                    if parallel is None:
                        self._train_step(batch, loss_tracker)
                        logs = self._metric_logs(loss_tracker)
                    else:
                        parallel.train_step(batch, loss_tracker)
                        logs = parallel.global_logs(loss_tracker, self.metrics)
                    cb.on_train_batch_end(batch.index, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self._run_eval(val, validation_batch_size or batch_size, cb, validation_steps)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                    self.train(True)
                cb.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            self.eval()
            if parallel is not None:
                parallel.end()
        cb.on_train_end(epoch_logs)
        return history

    # ================================================================ evaluate / predict
    def _run_eval(self, data, batch_size, cb, steps=None):
        """Loss and metrics over ``data`` in inference mode; calls the test hooks of ``cb``."""
        self.reset_metrics()
        tracker = kmetrics.Mean(name="loss")
        was_training = self.training
        self.eval()
        logs = {}
        cb.on_test_begin({})
        try:
            with no_grad():
                for batch in data.batches(batch_size, steps):
                    cb.on_test_batch_begin(batch.index, {})
                    self._test_step(batch, tracker)
                    logs = self._metric_logs(tracker)
                    cb.on_test_batch_end(batch.index, logs)
        finally:
            self.train(was_training)
        cb.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, check_finite=True):
        """The loss (a float) when the model has no metrics, else ``[loss, metric, ...]`` (or a dict)."""
        self._require_compiled("evaluate")
        verbose = _verbosity(verbose)
        batch_size = _batch_size(batch_size, "evaluate")
        if x is None or y is None:
            raise ValueError("evaluate: pass both x and y")
        data = DataAdapter(self, x, y, sample_weight, who="evaluate", check_finite=check_finite,
                           empty_message="evaluate: the data is empty (x has 0 samples)")
        self._ensure_built(data.x)
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="test")
        cb = cbks.CallbackList([progbar] + list(callbacks or []), model=self,
                               params={"steps": data.num_steps(batch_size, steps), "verbose": verbose, "epochs": 1})
        return self._pack(self._run_eval(data, batch_size, cb, steps), return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, check_finite=False):
        """The model's outputs on ``x`` as a numpy array, computed in inference mode in batches."""
        verbose = _verbosity(verbose)
        batch_size = _batch_size(batch_size, "predict")
        data = DataAdapter(self, x, who="predict", check_finite=check_finite,
                           empty_message="predict: x is empty (0 samples)")
        self._ensure_built(data.x)
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="predict")
        cb = cbks.CallbackList([progbar] + list(callbacks or []), model=self,
                               params={"steps": data.num_steps(batch_size, steps), "verbose": verbose, "epochs": 1})
        outs = []
        was_training = self.training
        self.eval()
        cb.on_predict_begin({})
        try:
            with no_grad():
                for batch in data.batches(batch_size, steps):
                    cb.on_predict_batch_begin(batch.index, {})
                    out = self._call_values(batch_tensors(batch.x))
                    outs.append([o.detach().numpy() for o in flatten_structure(out)])
                    cb.on_predict_batch_end(batch.index, {"outputs": out})
        finally:
            self.train(was_training)
        cb.on_predict_end({})
        if not outs:
            raise ValueError("predict: no batches to predict (steps=0)")
        result = [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return result[0] if len(result) == 1 else result

    def predict_on_batch(self, x):
        data = DataAdapter(self, x, who="predict_on_batch", check_finite=False, check_shapes=False)
        return self.predict(x, batch_size=max(len(data), 1))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns its loss (and metrics), like Keras."""
        self._require_compiled("train_on_batch")
        data = DataAdapter(self, x, y, sample_weight, class_weight, who="train_on_batch", check_shapes=False,
                           empty_message="train_on_batch: the batch is empty")
        self.reset_metrics()
        tracker = kmetrics.Mean()
        was_training = self.training
        self.train(True)
        try:
            for batch in data.batches(len(data)):
                self._train_step(batch, tracker)
        finally:
            self.train(was_training)
        return self._pack(self._metric_logs(tracker), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        data = DataAdapter(self, x, y, sample_weight, who="test_on_batch", check_shapes=False,
                           empty_message="test_on_batch: the batch is empty")
        return self._pack(self._run_eval(data, len(data), cbks.CallbackList([])), return_dict)

    def _pack(self, logs, return_dict):
        if return_dict:
            return dict(logs)
        values = [logs["loss"]] + [logs[m.name] for m in self.metrics]
        return values[0] if len(values) == 1 else values
