"""DistributedDataParallel: one model replica per process, gradients averaged during backward.

Under ``mpiexec -n 2``, after ``tinydl.distributed.init_process_group("mpi")``::

    model = DistributedDataParallel(net)             # rank 0's weights everywhere
    loss_fn(model(x_local), y_local).backward()      # .grad now holds the average over ranks
    optimizer.step()
"""
import contextlib

from ... import distributed as dist
from ...core.autograd import is_grad_enabled
from ..module import Module
from .reducer import MB, GradReducer
from .sync import broadcast_state, check_same_architecture, named_state

DEFAULT_BUCKET_CAP_MB = 25  # PyTorch's default


class DistributedDataParallel(Module):
    """PyTorch's ``torch.nn.parallel.DistributedDataParallel`` for tinydl modules.

    At construction every rank checks that all ranks hold the same architecture (names, shapes and
    dtypes of parameters and buffers; on a mismatch every rank raises the same error) and takes
    rank 0's parameters and buffers. ``forward`` runs the wrapped module (``self.module``); with
    ``broadcast_buffers`` rank 0's buffers (e.g. BatchNorm statistics) are broadcast first. During
    ``backward`` gradients are averaged over ranks in buckets of ``bucket_cap_mb`` megabytes
    (default 25), each all-reduced without blocking as soon as its gradients are ready. Inside
    ``no_sync()`` gradients only accumulate locally; the first backward after it averages them.

    Not supported (NotImplementedError): ``device_ids``/``output_device`` other than None or the
    current device, ``process_group``, ``find_unused_parameters=True``, ``static_graph=True``,
    ``gradient_as_bucket_view=True``.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__(name="distributed_data_parallel")
        who = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{who}: module must be a tinydl Module, got {type(module).__name__}")
        for arg, value, ok in (("process_group", process_group, None),
                               ("find_unused_parameters", find_unused_parameters, False),
                               ("static_graph", static_graph, False),
                               ("gradient_as_bucket_view", gradient_as_bucket_view, False),
                               ("dim", dim, 0)):
            if value != ok:
                raise NotImplementedError(f"{who}: {arg}={value!r} is not supported by tinydl")
        if device_ids not in (None, []) or output_device is not None:
            raise NotImplementedError(f"{who}: device_ids/output_device are not supported; tinydl "
                                      f"uses the device the module's parameters are on")
        _require_built(module, who)
        cap_mb = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap_mb, bool) or not isinstance(cap_mb, (int, float)) or cap_mb < 0:
            raise ValueError(f"{who}: bucket_cap_mb must be a non-negative number, got {bucket_cap_mb!r}")
        dist.get_world_size()  # raises the usual error when init_process_group was not called
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        check_same_architecture(module, who)
        broadcast_state(module)
        params = [p for _, p in module.named_parameters() if p.requires_grad]
        self.reducer = GradReducer(params, int(cap_mb * MB), who, average=True)
        self._has_buffers = any(not is_param for _, _, is_param in named_state(module))

    def forward(self, *inputs, **kwargs):
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward()
            if self.broadcast_buffers and self._has_buffers:
                broadcast_state(self.module, buffers_only=True)
        else:
            self.reducer.disarm()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run in this block accumulate gradients without
        communication; the first synchronized backward afterwards averages the accumulated sum."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


def _require_built(module, who):
    for name, m in module.named_modules():
        if not m.built and type(m).build is not Module.build:
            raise RuntimeError(
                f"{who}: module '{name or m.name}' has not created its parameters yet (its shapes "
                f"are inferred on the first call). Modules with uninitialized parameters can't be "
                f"used with DistributedDataParallel: run a dummy forward pass first, or give the "
                f"input size (e.g. nn.Linear(in_features, out_features))")
