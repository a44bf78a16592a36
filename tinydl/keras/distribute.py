"""Data-parallel ``model.fit`` across processes: ``MultiWorkerMirroredStrategy`` (tf.distribute's name).

Launch the same program on N processes with MPI (``mpiexec -n 2 python train.py``) and build and
compile the model inside the strategy's scope::

    strategy = tinydl.keras.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([...])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=5)       # 64 is the global batch, as in TensorFlow

What ``fit`` then does on every process:
- rank 0's initial weights and buffers are broadcast (after checking that every process built the
  same architecture); the epoch's shuffled order is drawn on rank 0 and broadcast;
- each global batch is split into N contiguous slices (``np.array_split``); process r trains on
  slice r, with its loss scaled by its share of the global batch and regularization losses by 1/N,
  and the gradients are summed across processes in buckets during backward, so every step applies
  the gradient of the whole global batch (the same step a single process takes, up to summation
  order, also for a short last batch);
- the loss and metrics shown and passed to callbacks are those of the global batch (their running
  sums are all-reduced), so EarlyStopping, TerminateOnNaN etc. decide the same on every process;
- only rank 0 prints progress and runs ``ModelCheckpoint`` and ``CSVLogger`` (checkpoints are
  written atomically, so a crash mid-run leaves the last good file); validation data is evaluated
  in full by every process (identical weights give identical results).

Differences from TensorFlow: the slices of a global batch are contiguous rather than
TensorFlow's auto-sharded order, and workers come from the MPI launcher, not ``TF_CONFIG``.
"""
import contextlib

import numpy as np

from .. import distributed as dist
from ..core.random import get_rng
from ..nn.parallel.reducer import MB, GradReducer
from ..nn.parallel.sync import broadcast_state, check_same_architecture, host_tensor
from . import callbacks as cbks
from . import metrics as kmetrics
from .data_adapter import _cut, batch_tensors

_scopes = []  # the strategies whose scope() is active, innermost last


class MultiWorkerMirroredStrategy:
    """Synchronous data parallelism over the processes of an MPI launch.

    Initializes ``tinydl.distributed``'s process group (backend 'mpi') unless it already is.
    ``cluster_resolver`` (TF_CONFIG clusters) is not supported; ``communication_options`` is
    accepted and ignored (gradients are bucketed into 25 MB all-reduces).
    """

    def __init__(self, cluster_resolver=None, communication_options=None):
        if cluster_resolver is not None:
            raise NotImplementedError("MultiWorkerMirroredStrategy: cluster_resolver is not supported; "
                                      "tinydl takes the workers from the MPI launcher (mpiexec, srun)")
        if not dist.is_initialized():
            dist.init_process_group("mpi")
        self.num_replicas_in_sync = dist.get_world_size()
        self.bucket_cap_bytes = 25 * MB

    @property
    def rank(self):
        """This process's index (tinydl extra; TensorFlow's ``cluster_resolver.task_id``)."""
        return dist.get_rank()

    @property
    def is_chief(self):
        """Whether this process prints progress and writes checkpoints (rank 0)."""
        return dist.get_rank() == 0

    @contextlib.contextmanager
    def scope(self):
        """Models created or compiled inside train data-parallel under this strategy."""
        _scopes.append(self)
        try:
            yield self
        finally:
            _scopes.pop()


def get_strategy():
    """The strategy whose scope is active, or None (tf's default strategy is no distribution)."""
    return _scopes[-1] if _scopes else None


def has_strategy():
    return bool(_scopes)


def _metric_state_names(m):
    if isinstance(m, kmetrics.Mean):
        return ("total", "count")
    if all(hasattr(m, k) for k in ("tp", "fp", "fn")):
        return ("tp", "fp", "fn")
    raise NotImplementedError(f"MultiWorkerMirroredStrategy: metric {m.name!r} "
                              f"({type(m).__name__}) has no known state to combine across workers")


class DistributedFit:
    """The per-``fit`` machinery ``Model.fit`` uses when the model belongs to a strategy."""

    def __init__(self, strategy, model):
        self.strategy, self.model = strategy, model
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.is_chief = self.rank == 0
        self.reducer = None

    def begin(self):
        who = f"{self.model.name}.fit (MultiWorkerMirroredStrategy)"
        check_same_architecture(self.model, who)
        broadcast_state(self.model)
        for m in self.model._all_metrics():
            _metric_state_names(m)
        params = [p for _, p in self.model.named_parameters() if p.requires_grad]
        self.reducer = GradReducer(params, self.strategy.bucket_cap_bytes, who, average=False)

    def end(self):
        if self.reducer is not None:
            self.reducer.remove_hooks()
            self.reducer = None

    def callbacks(self, user):
        """Rank 0 runs every callback; the others skip the ones that write files."""
        if self.is_chief:
            return user
        return [c for c in user if not isinstance(c, (cbks.ModelCheckpoint, cbks.CSVLogger))]

    def batches(self, data, batch_size, steps, shuffle):
        """This rank's contiguous slice of every global batch of ``data`` (a DataAdapter); the
        shuffled order is drawn on rank 0 and broadcast. ``self.global_size`` is the batch's size."""
        n = len(data)
        order = None
        if shuffle:
            order = host_tensor(get_rng().permutation(n).astype(np.int64))
            dist.broadcast(order, 0)
            order = order.detach().numpy()
        for batch in data._iterate(batch_size, data.num_steps(batch_size, steps), order, n):
            part = np.array_split(np.arange(batch.size), self.world)[self.rank]
            self.global_size = batch.size
            yield batch._replace(x=[a[part] for a in batch.x], y=_cut(batch.y, part),
                                 sample_weight=_cut(batch.sample_weight, part), size=len(part))

    def train_step(self, batch, loss_tracker):
        """Forward and backward on the local slice; the optimizer step uses the summed gradients."""
        model = self.model
        self.reducer.prepare_for_backward()
        model.zero_grad()
        if batch.size == 0:
            # nothing to compute here, but the others wait for this rank's (zero) gradients
            self.reducer.contribute_zeros()
            model.optimizer.step()
            return
        out = model.forward(batch_tensors(batch.x))
        model.built = True
        model._bind_optimizer()
        data_loss = model.compiled_loss(batch.y, out, batch.sample_weight)
        if data_loss.ndim:
            data_loss = data_loss.mean()
        loss = data_loss * (batch.size / self.global_size)
        regs = model.regularization_losses()
        for r in regs:
            loss = loss + r * (1.0 / self.world)
        if loss.requires_grad:
            loss.backward()
            if self.reducer.ready:  # some parameter got no gradient: fail as DDP does
                self.reducer.prepare_for_backward()
            model.optimizer.step()
        value = float(data_loss.item()) + sum(float(r.item()) for r in regs)
        loss_tracker.update_state(value, sample_weight=batch.size)
        model._update_metrics(batch.y, out.detach().numpy(), batch.sample_weight)

    def global_logs(self, loss_tracker, metrics):
        """The logs of the global batch so far: every tracker's sums all-reduced."""
        trackers = [loss_tracker] + list(metrics)
        names = [_metric_state_names(m) for m in trackers]
        local = np.array([float(getattr(m, k)) for m, ks in zip(trackers, names) for k in ks])
        summed = host_tensor(local.copy())
        dist.all_reduce(summed)
        summed = summed.detach().numpy()
        logs, pos = {}, 0
        for m, ks in zip(trackers, names):
            saved = [getattr(m, k) for k in ks]
            for k in ks:
                setattr(m, k, float(summed[pos]))
                pos += 1
            logs["loss" if m is loss_tracker else m.name] = m.result()
            for k, v in zip(ks, saved):
                setattr(m, k, v)
        return logs
