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
from .stream_adapter import is_stream, make_adapter
from .graph import flatten_structure
from .outputs import MultiOutput

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
        self._multi = None
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
        self.optimizer = kopt.get(optimizer)
        self.loss = loss
        self._multi = None
        self._compile_args = (loss, loss_weights, metrics)
        names = self._output_names()
        if (names is not None and len(names) > 1) or isinstance(loss, dict) or (
                isinstance(loss, (list, tuple)) and len(loss) > 1):
            if names is None:  # a subclassed model: the dict's keys, or output_1, output_2, ...
                names = list(loss) if isinstance(loss, dict) else [f"output_{i + 1}" for i in range(len(loss))]
            self._multi = MultiOutput(names, loss, loss_weights, metrics, _loss_name)
            self.compiled_loss = self._multi
            metrics = None
        else:
            if isinstance(loss, (list, tuple)):
                loss = loss[0]
            self.compiled_loss = klosses.get(loss) if loss is not None else None
        loss_name = _loss_name(loss) if not isinstance(loss, (list, tuple, dict)) else None
        if isinstance(metrics, (list, tuple)) and len(metrics) == 1 and isinstance(metrics[0], (list, tuple)):
            metrics = metrics[0]
        if isinstance(metrics, dict) and len(metrics) == 1:
            metrics = next(iter(metrics.values()))
        self.compiled_metrics = kmetrics.resolve(metrics, loss_name)
        self.weighted_metrics = kmetrics.resolve(weighted_metrics, loss_name)
        self._terminate_on_nan = bool(terminate_on_nan)
        if kdist.get_strategy() is not None:
            self._distribute_strategy = kdist.get_strategy()
        self._loss_tracker = kmetrics.Mean(name="loss")
        self._compile_metrics = CompileMetrics(self)
        self._compiled = True
        self._bound_count = -1
        if self.built:
            self._bind_optimizer()

    @property
    def metrics_names(self):
        """Keras 3's: the names of ``model.metrics`` (``['loss', 'compile_metrics']`` after compile)."""
        return [m.name for m in self.metrics]

    @property
    def metrics(self):
        """Keras 3's ``model.metrics``: the loss tracker ``'loss'`` and, when compile was given
        metrics, the ``'compile_metrics'`` container (``update_state(y, y_pred)`` updates them all,
        ``result()`` is a dict by name) — what an overridden ``train_step`` iterates over."""
        if not getattr(self, "_compiled", False):
            return []
        own = [self._loss_tracker]
        return own + [self._compile_metrics] if self._all_metrics() else own

    def _all_metrics(self):
        """The compiled metric objects, flat (per output for a multi-output model)."""
        multi = getattr(self, "_multi", None)
        return (list(self.compiled_metrics) + list(getattr(self, "weighted_metrics", []))
                + (multi.all_metrics() if multi is not None else []))

    def _output_names(self):
        """Keras's ``output_names``: the names of the layers producing the outputs (None: not known yet)."""
        graph = getattr(self, "_graph", None)
        if graph is None:
            return None
        return [kt._node.layer.name if kt._node is not None else kt.name for kt in graph.flat_out]

    @property
    def output_names(self):
        return self._output_names()

    def _require_compiled(self, what):
        step = "test_step" if what in ("evaluate", "test_on_batch") else "train_step"
        if self._compiled and self.compiled_loss is None and self._custom_step(step) is not None:
            return  # an overridden step computes its own loss: Keras compiles such a model without one
        if not self._compiled or self.compiled_loss is None:
            raise RuntimeError(f"{self.name}.{what}: you must call compile(optimizer, loss) before {what}()"
                               if not self._compiled else f"{self.name}.{what}: compile() was called without a loss")

    def _bind_optimizer(self):
        params = list(self.parameters())
        if len(params) == self._bound_count:
            return
        if isinstance(self.optimizer, kopt.Optimizer):
            self.optimizer.build(params)
        self._bound_count = len(params)

    # ================================================================ one batch
    def _compute_loss(self, y, out, sw):
        if self._multi is not None:
            outs = list(out) if isinstance(out, (list, tuple)) else [out[k] for k in self._multi.names] \
                if isinstance(out, dict) else [out]
            loss = self._multi.loss(self._multi.split_targets(y, self.name), outs, sw)
        else:
            loss = self.compiled_loss(y, out, sw)
        if loss.ndim:
            loss = loss.mean()
        regs = self.losses  # add_loss terms of the last call, then the weight penalties
        if regs:
            loss = functools.reduce(lambda a, b: a + b, regs, loss)
        return loss

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras 3's ``compute_loss``: the compiled loss of ``y_pred`` against ``y`` plus ``self.losses``."""
        return self._compute_loss(y, y_pred, sample_weight)

    def _update_metrics(self, y, out_np, sw):
        if self._multi is not None:
            outs = out_np if isinstance(out_np, list) else [out_np]
            self._multi.update_metrics(self._multi.split_targets(y, self.name), outs, sw)
            return
        for m in self.compiled_metrics:
            m.update_state(y, out_np)
        for m in getattr(self, "weighted_metrics", []):
            m.update_state(y, out_np, sw)

    def reset_metrics(self):
        for m in self._all_metrics():
            m.reset_state()
        for m in self.metrics:  # the loss tracker, or a subclass's own `metrics` list
            if m is not getattr(self, "_compile_metrics", None):
                m.reset_state()
        if getattr(self, "_multi", None) is not None:
            self._multi.reset()

    def _metric_logs(self, loss_tracker):
        custom = self.__dict__.pop("_custom_logs", None)
        if custom is not None:
            return custom
        logs = {"loss": loss_tracker.result()}
        if self._multi is not None:
            logs.update(self._multi.logs())
            return logs
        for m in self._all_metrics():
            logs[m.name] = m.result()
        return logs

    def _custom_step(self, kind):
        """The user's ``train_step``/``test_step`` override, or None."""
        from .models import Model
        fn = getattr(type(self), kind, None)
        return fn if fn is not None and fn is not getattr(Model, kind, None) else None

    def train_step(self, data):
        """Keras's overridable step: ``data`` is ``(x, y)`` or ``(x, y, sample_weight)``; returns the logs."""
        raise NotImplementedError  # the built-in step is _train_step; fit calls an override only

    def test_step(self, data):
        raise NotImplementedError

    def _run_custom(self, kind, batch, loss_tracker):
        from ..core.tensor import Tensor
        x = batch_tensors(batch.x)
        data = (x,) if batch.y is None else (x, _as_tensors(batch.y)) if batch.sample_weight is None else (
            x, _as_tensors(batch.y), Tensor(batch.sample_weight))
        self.built = True
        self._bind_optimizer()
        logs = getattr(type(self), kind)(self, data)
        flat = {}
        for k, v in (logs or {}).items():
            if isinstance(v, dict):
                flat.update({kk: _scalar(vv) for kk, vv in v.items()})
            else:
                flat[k] = _scalar(v)
        self._custom_logs = flat
        if "loss" in flat:
            loss_tracker.update_state(flat["loss"], sample_weight=batch.size)

    def _train_step(self, batch, loss_tracker):
        """One optimizer step on ``batch``; updates the loss tracker and the metrics."""
        if self._custom_step("train_step") is not None:
            return self._run_custom("train_step", batch, loss_tracker)
        out = self.forward(batch_tensors(batch.x))
        if isinstance(out, (list, tuple, dict)) and self._multi is None:
            raise ValueError(f"{self.name}: the model has {len(out)} outputs; compile it with one loss per output "
                             "(a list or a dict by output name)")
        self.built = True
        self._bind_optimizer()
        loss = self._compute_loss(batch.y, out, batch.sample_weight)
        self.zero_grad()
        if loss.requires_grad:
            loss.backward()
            self.optimizer.step()
        loss_tracker.update_state(float(loss.item()), sample_weight=batch.size)
        self._update_metrics(batch.y, _numpy(out), batch.sample_weight)

    def _test_step(self, batch, loss_tracker):
        if self._custom_step("test_step") is not None:
            return self._run_custom("test_step", batch, loss_tracker)
        out = self.forward(batch_tensors(batch.x))
        self.built = True
        loss = self._compute_loss(batch.y, out, batch.sample_weight)
        loss_tracker.update_state(float(loss.item()), sample_weight=batch.size)
        self._update_metrics(batch.y, _numpy(out), batch.sample_weight)

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
        if y is None and not is_stream(x):
            raise ValueError("fit: y is None; pass the training targets")
        data = make_adapter(self, x, y, sample_weight, class_weight, who="fit", check_finite=check_finite,
                            empty_message="fit: the training data is empty (x has 0 samples); there is nothing "
                                          "to train on")
        if not is_stream(x):
            self._ensure_built(data.x)
        val = None
        if validation_data is not None and is_stream(validation_data):
            val = make_adapter(self, validation_data, who="fit (validation_data)", check_finite=check_finite)
        elif validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight)")
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = DataAdapter(self, validation_data[0], validation_data[1], vsw, who="fit (validation_data)",
                              check_finite=check_finite, empty_message="fit: validation_data is empty", y_name="y_val")
        elif validation_split:
            if is_stream(x):
                raise ValueError("fit: validation_split is only supported for arrays, not for a Dataset, a "
                                 "generator or a PyDataset; pass validation_data")
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
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size,
                  "samples": None if is_stream(x) else len(data)}
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
                    if not self.built:
                        self._ensure_built(batch.x)
                    if parallel is None:
                        self._train_step(batch, loss_tracker)
                        logs = self._metric_logs(loss_tracker)
                    else:
                        parallel.train_step(batch, loss_tracker)
                        logs = parallel.global_logs(loss_tracker, self._all_metrics())
                    cb.on_train_batch_end(batch.index, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                data.on_epoch_end()
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
        if x is None or (y is None and not is_stream(x)):
            raise ValueError("evaluate: pass both x and y")
        data = make_adapter(self, x, y, sample_weight, who="evaluate", check_finite=check_finite,
                            empty_message="evaluate: the data is empty (x has 0 samples)")
        if not is_stream(x):
            self._ensure_built(data.x)
        progbar = cbks.ProgbarLogger(verbose=verbose, mode="test")
        cb = cbks.CallbackList([progbar] + list(callbacks or []), model=self,
                               params={"steps": data.num_steps(batch_size, steps), "verbose": verbose, "epochs": 1})
        return self._pack(self._run_eval(data, batch_size, cb, steps), return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, check_finite=False):
        """The model's outputs on ``x`` as a numpy array, computed in inference mode in batches."""
        verbose = _verbosity(verbose)
        batch_size = _batch_size(batch_size, "predict")
        data = make_adapter(self, x, who="predict", check_finite=check_finite,
                            empty_message="predict: x is empty (0 samples)")
        if not is_stream(x):
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
        values = list(logs.values()) if self._multi is not None or self._custom_step("test_step") else \
            [logs["loss"]] + [logs[m.name] for m in self._all_metrics()]
        return values[0] if len(values) == 1 else values


def _numpy(out):
    if isinstance(out, dict):
        return [o.detach().numpy() for o in out.values()]
    if isinstance(out, (list, tuple)):
        return [o.detach().numpy() for o in out]
    return out.detach().numpy()


def _as_tensors(y):
    from ..core.tensor import Tensor
    if isinstance(y, dict):
        return {k: Tensor(v) for k, v in y.items()}
    if isinstance(y, (list, tuple)):
        return [Tensor(v) for v in y]
    return Tensor(y)


def _scalar(v):
    try:
        return float(np.asarray(v.detach().numpy() if hasattr(v, "detach") else v))
    except (TypeError, ValueError):
        return v


class CompileMetrics:
    """Keras 3's ``compile_metrics``: every compiled metric behind one ``update_state(y, y_pred)``."""

    name = "compile_metrics"

    def __init__(self, model):
        self._model = model

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = _np_tree(y_true)
        self._model._update_metrics(y, _numpy(y_pred) if not isinstance(y_pred, np.ndarray) else y_pred,
                                    None if sample_weight is None else _np_tree(sample_weight))

    def result(self):
        return {m.name: m.result() for m in self._model._all_metrics()}

    def reset_state(self):
        for m in self._model._all_metrics():
            m.reset_state()


def _np_tree(v):
    if hasattr(v, "numpy"):
        return v.detach().numpy()
    if isinstance(v, dict):
        return {k: _np_tree(a) for k, a in v.items()}
    if isinstance(v, (list, tuple)):
        return [_np_tree(a) for a in v]
    return v
