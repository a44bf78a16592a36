"""Keras callbacks: the hook names, the built-in callbacks, and fit's progress printing.

Hooks (all optional): ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)``,
``on_train_batch_begin/end(batch, logs)``, ``on_test_begin/end(logs)``,
``on_test_batch_begin/end(batch, logs)``, ``on_predict_begin/end(logs)``,
``on_predict_batch_begin/end(batch, logs)``. A callback sees the model as ``self.model`` and
fit's settings as ``self.params`` (``epochs``, ``steps``, ``verbose``); setting
``self.model.stop_training = True`` ends training after the current batch.

Batch logs carry the running averages of the epoch so far (``loss`` and each metric), as Keras 3
reports them; epoch logs add ``val_``-prefixed entries when there is validation data.

``TerminateOnNaN`` is added to every ``fit`` by default (pass ``terminate_on_nan=False`` to
``fit`` or ``compile`` to switch it off): when the loss becomes NaN or infinite, training stops
after that batch with a RuntimeWarning that says where and what to try.
"""
import csv
import math
import os
import sys
import time
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
           "CSVLogger", "TerminateOnNaN", "LearningRateScheduler", "ReduceLROnPlateau", "LambdaCallback"]


class Callback:
    """Base class; override the hooks you need."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    # Keras 2 aliases, called by nothing but kept for subclasses that override them
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


_HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]


class CallbackList:
    """Calls a hook on every callback in order. Plain objects with only some hooks are accepted."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if model is not None and hasattr(cb, "set_model"):
                cb.set_model(model)
            elif model is not None:
                cb.model = model
            if params is not None and hasattr(cb, "set_params"):
                cb.set_params(params)
        self._has = {h: [getattr(cb, h) for cb in self.callbacks if callable(getattr(cb, h, None))]
                     for h in _HOOKS}
        # Keras 2 batch hooks (on_batch_begin/end) still fire for callbacks that define only those
        for cb in self.callbacks:
            for old, new in (("on_batch_begin", "on_train_batch_begin"), ("on_batch_end", "on_train_batch_end")):
                if _overrides(cb, old) and not _overrides(cb, new):
                    self._has[new].append(getattr(cb, old))

    def __iter__(self):
        return iter(self.callbacks)

    def call(self, hook, *args):
        for fn in self._has[hook]:
            fn(*args)

    def __getattr__(self, hook):
        if hook in _HOOKS:
            return lambda *args: self.call(hook, *args)
        raise AttributeError(hook)


def _overrides(cb, hook):
    if not isinstance(cb, Callback):
        return callable(getattr(cb, hook, None))
    return hook in vars(cb) or getattr(type(cb), hook, None) is not getattr(Callback, hook)


class History(Callback):
    """Records every epoch's logs: ``history.history['loss']``, ``history.epoch``.

    tinydl extra: ``history.epoch_seconds``, the wall time of each epoch (validation included).
    """

    def __init__(self):
        super().__init__()
        self.history, self.epoch, self.epoch_seconds = {}, [], []
        self._t0 = None

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        self.epoch_seconds.append(time.perf_counter() - (self._t0 or time.perf_counter()))
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


# ---- progress printing ---------------------------------------------------------------------------

def format_value(v):
    """Keras's number format: 4 decimals, scientific below 1e-3."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.4e}"
    return f"{v:.4f}"


def format_logs(logs):
    """``accuracy: 0.9560 - loss: 0.1432 - val_accuracy: ... - val_loss: ...`` (training keys sorted, then val_)."""
    keys = sorted(k for k in logs if not k.startswith("val_")) + sorted(k for k in logs if k.startswith("val_"))
    return " - ".join(f"{k}: {format_value(logs[k])}" for k in keys)


def format_step_time(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _is_tty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgbarLogger(Callback):
    """Keras-style progress: ``Epoch 1/5`` then ``1875/1875 - 12s - 6ms/step - accuracy: ... - loss: ...``.

    verbose=1 on a terminal: a live bar redrawn in place (at most every 0.1 s); verbose=1 when
    stdout is not a terminal, and verbose=2: one line per epoch; verbose=0: nothing.
    """

    def __init__(self, verbose=1, stream=None, mode="train"):
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self.mode = mode  # 'train', 'test' (evaluate) or 'predict'
        self._live = False
        self._t0 = None
        self._last_draw = 0.0
        self._seen = 0

    def _out(self):
        return self.stream or sys.stdout

    def _start(self):
        self._t0 = time.perf_counter()
        self._last_draw = 0.0
        self._seen = 0
        self._live = self.verbose == 1 and _is_tty(self._out())

    def _bar(self, done, total):
        width = 20
        enc = (getattr(self._out(), "encoding", None) or "").lower()
        full, empty = ("\u2501", "\u2501") if "utf" in enc else ("=", ".")
        filled = int(width * done / total) if total else width
        if "utf" in enc:
            return "\x1b[1m" + full * filled + "\x1b[0m" + "\x1b[2m" + empty * (width - filled) + "\x1b[0m"
        return "[" + full * filled + (">" if filled < width else "") + empty * max(width - filled - 1, 0) + "]"

    def _line(self, done, total, logs, final):
        elapsed = time.perf_counter() - self._t0
        per = elapsed / max(done, 1)
        count = f"{done}/{total}" if total else f"{done}"
        extra = format_logs(logs or {})
        if self._live:
            width = len(str(total)) if total else 0
            count = f"{done:>{width}}/{total}" if total else f"{done}"
            eta = "" if final or not total else f" ETA {int(per * (total - done))}s"
            timing = f"{int(elapsed)}s {format_step_time(per)}" if final else eta.strip()
            return f"{count} {self._bar(done, total)} {timing}" + (f" - {extra}" if extra else "")
        return f"{count} - {int(round(elapsed))}s - {format_step_time(per)}" + (f" - {extra}" if extra else "")

    def _draw(self, done, total, logs, final=False):
        now = time.perf_counter()
        if not final and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        out = self._out()
        out.write("\r" + self._line(done, total, logs, final) + "\x1b[K")
        if final:
            out.write("\n")
        out.flush()

    def _end(self, logs):
        total = self.params.get("steps")
        if self.verbose == 0:
            return
        if self._live:
            self._draw(self._seen, total or self._seen, logs, final=True)
        else:
            out = self._out()
            out.write(self._line(self._seen, total or self._seen, logs, True) + "\n")
            out.flush()

    # training
    def on_epoch_begin(self, epoch, logs=None):
        if self.mode != "train" or not self.verbose:
            return
        out = self._out()
        out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        out.flush()
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self._live:
            self._draw(self._seen, self.params.get("steps"), logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.mode == "train" and self.verbose:
            self._end(logs)

    # evaluate / predict
    def on_test_begin(self, logs=None):
        if self.mode == "test" and self.verbose:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if self.mode == "test":
            self._seen = batch + 1
            if self._live:
                self._draw(self._seen, self.params.get("steps"), logs)

    def on_test_end(self, logs=None):
        if self.mode == "test" and self.verbose:
            self._end(logs)

    def on_predict_begin(self, logs=None):
        if self.mode == "predict" and self.verbose:
            self._start()

    def on_predict_batch_end(self, batch, logs=None):
        if self.mode == "predict":
            self._seen = batch + 1
            if self._live:
                self._draw(self._seen, self.params.get("steps"), {})

    def on_predict_end(self, logs=None):
        if self.mode == "predict" and self.verbose:
            self._end({})


# ---- helpers -------------------------------------------------------------------------------------

def _monitor_op(mode, monitor, who):
    """(better(a, b), sign) for 'min'/'max'/'auto' (auto: max for accuracies/AUC, min otherwise)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        name = monitor.lower()
        mode = "max" if ("acc" in name or "auc" in name or name.endswith(("precision", "recall", "f1"))) else "min"
    return mode


def _get_lr(model, who):
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise RuntimeError(f"{who}: the model has no optimizer (compile it first)")
    if hasattr(opt, "learning_rate"):
        return float(opt.learning_rate)
    return float(opt.lr)


def _set_lr(model, value, who):
    opt = model.optimizer
    if hasattr(opt, "_learning_rate") and callable(opt._learning_rate) or callable(
            getattr(opt, "param_groups", [{}])[0].get("lr") if hasattr(opt, "param_groups") else None):
        raise TypeError(f"{who}: the optimizer's learning rate is a schedule; it cannot also be set by a callback")
    if hasattr(opt, "learning_rate"):
        opt.learning_rate = float(value)
    else:
        opt.lr = float(value)


# ---- built-in callbacks ----------------------------------------------------------------------------

class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``restore_best_weights=True`` puts back the weights of the best epoch when training ends.
    ``baseline``: training stops unless the monitored value beats it within ``patience`` epochs.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.mode = _monitor_op(mode, monitor, "EarlyStopping")
        self.min_delta = abs(float(min_delta))

    def _better(self, current, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return current + self.min_delta < reference
        return current - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, 0
        self.best, self.best_weights, self.best_epoch = None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: the monitored quantity {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})}); nothing is monitored", RuntimeWarning, stacklevel=2)
            return
        if epoch < self.start_from_epoch or (isinstance(current, float) and math.isnan(current)):
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model after each epoch (or every ``save_freq`` batches).

    ``filepath`` may contain ``{epoch}`` (1-based, as Keras) and log keys: ``'w-{epoch:02d}-{val_loss:.2f}.npz'``.
    ``save_best_only``: save only when ``monitor`` improves. As in Keras, ``save_weights_only=False``
    (the default) saves the whole model: ``model.save`` for a ``.keras`` path; for any other path
    (Keras refuses those) tinydl writes a full training checkpoint (weights, optimizer state, RNG
    state, epoch) with ``tinydl.io.save_checkpoint``. ``save_weights_only=True`` writes
    ``model.save_weights``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = _monitor_op(mode, monitor, "ModelCheckpoint")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._batches = 0
        self._epoch = 0

    def _better(self, current):
        if self.best is None:
            return True
        return current < self.best if self.mode == "min" else current > self.best

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int):
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._epoch, dict(logs or {}, batch=batch + 1))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs):
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} uses {exc} which is not in the logs "
                           f"(available: epoch, {', '.join(sorted(logs))})") from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: can save the best model only with {self.monitor!r} in the logs "
                              f"(available: {sorted(logs)}); skipping", RuntimeWarning, stacklevel=2)
                return
            if not self._better(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                prev = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {prev} to {current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            if path.endswith(".keras"):
                raise ValueError(f"ModelCheckpoint: with save_weights_only=True the filepath must not end in "
                                 f"'.keras' (that is a whole-model file), got {path!r}")
            self.model.save_weights(path)
        elif path.endswith(".keras"):
            self.model.save(path)
        else:
            from .. import io
            io.save_checkpoint(path, self.model, epoch=epoch + 1, step=int(getattr(self.model.optimizer, "iterations", 0)))


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: ``epoch`` (0-based, as Keras) then the sorted log keys."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = self._writer = self._keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._header_written = exists
        self._file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self._keys, delimiter=self.sep,
                                          extrasaction="ignore")
            if not self._header_written:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: _csv_value(logs.get(k, "NA")) for k in self._keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


def _csv_value(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite (on by default in ``fit``)."""

    def __init__(self):
        super().__init__()
        self._epoch = 0
        self.stopped = None  # (epoch, batch) once triggered

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            self.stopped = (self._epoch, batch)
            self.model.stop_training = True
            warnings.warn(
                f"TerminateOnNaN: the training loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1}; "
                "training stopped. Usual causes: a learning rate that is too high, unscaled inputs, or a "
                "custom loss taking log(0). (Pass terminate_on_nan=False to fit() to keep training.)",
                RuntimeWarning, stacklevel=2)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _get_lr(self.model, "LearningRateScheduler")
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        if not isinstance(new, (int, float, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a number, got {new!r}")
        _set_lr(self.model, float(new), "LearningRateScheduler")
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model, "LearningRateScheduler")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), int(patience), verbose
        self.mode = _monitor_op(mode, monitor, "ReduceLROnPlateau")
        self.min_delta, self.cooldown, self.min_lr = float(kwargs.pop("epsilon", min_delta)), int(cooldown), float(min_lr)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _better(self, current):
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_lr(self.model, "ReduceLROnPlateau")
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: {self.monitor!r} is not in the logs (available: {sorted(logs)})",
                          RuntimeWarning, stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = _get_lr(self.model, "ReduceLROnPlateau")
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    _set_lr(self.model, new, "ReduceLROnPlateau")
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if name not in _HOOKS and name not in ("on_batch_begin", "on_batch_end"):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; known: {_HOOKS}")
            setattr(self, name, fn)
