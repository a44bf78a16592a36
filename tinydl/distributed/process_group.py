"""The default process group: init_process_group, get_rank, get_world_size, destroy_process_group.

One default group per process (as in torch.distributed); it is process state, not thread state.
With ``backend='mpi'`` the rank and world size come from the MPI launcher (``mpiexec``, ``srun``).

Fault behaviour: every collective waits with a deadline (``timeout``, default 30 minutes as in
PyTorch) and raises ``DistributedTimeoutError`` when it passes; and ``init_process_group`` installs
an exception hook so that an exception nobody catches on one rank prints its traceback and then
calls ``MPI_Abort``, which makes the launcher stop every rank (instead of the others waiting for
it forever). ``destroy_process_group`` removes the hook.
"""
import datetime
import sys
import time
import traceback

from .work import _seconds

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
_BACKENDS = ("mpi", "nccl")


class _State:
    backend = None       # an MPIBackend or NCCLBackend while initialized
    previous_hook = None


_state = _State()


def is_available():
    """Whether the MPI backend can be used (mpi4py imports)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available():
    return is_available()


def is_nccl_available():
    try:
        from cupy.cuda import nccl
    except ImportError:
        return False
    return bool(getattr(nccl, "available", True))


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group. ``backend``: ``'mpi'`` (CPU tensors; the default) or
    ``'nccl'`` (GPU tensors, untested). ``timeout``: how long any collective may wait (a
    ``datetime.timedelta`` or seconds). ``world_size``/``rank`` come from the MPI launcher; passing
    values that differ from it is an error. ``init_method``/``store`` (rendezvous for other
    launchers) are not supported."""
    if _state.backend is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend = "mpi" if backend is None else str(backend).lower()
    if backend not in _BACKENDS:
        raise NotImplementedError(f"init_process_group: backend {backend!r} is not available in tinydl; "
                                  f"supported: {', '.join(_BACKENDS)}")
    if init_method not in (None, "env://") or store is not None:
        raise NotImplementedError("init_process_group: init_method/store rendezvous is not supported; "
                                  "tinydl takes rank and world size from the MPI launcher")
    if pg_options is not None or device_id is not None:
        raise NotImplementedError("init_process_group: pg_options and device_id are not supported")
    seconds = _seconds(DEFAULT_TIMEOUT if timeout is None else timeout)
    if backend == "mpi":
        from .mpi_backend import MPIBackend
        impl = MPIBackend(seconds)
    else:
        from .nccl_backend import NCCLBackend
        impl = NCCLBackend(seconds)
    for given, actual, what in ((world_size, impl.size, "world_size"), (rank, impl.rank, "rank")):
        if given not in (-1, None) and int(given) != actual:
            impl.shutdown()
            raise ValueError(f"init_process_group: {what}={given} but the MPI launcher started this "
                             f"process with {what} {actual}")
    _state.backend = impl
    _state.previous_hook = sys.excepthook
    sys.excepthook = _abort_on_uncaught_exception


def _abort_on_uncaught_exception(exc_type, exc, tb):
    impl = _state.backend
    traceback.print_exception(exc_type, exc, tb)
    if impl is not None and impl.size > 1:
        sys.stderr.write(f"tinydl.distributed: rank {impl.rank} of {impl.size} raised "
                         f"{exc_type.__name__}; aborting every rank (MPI_Abort)\n")
        sys.stderr.flush()
        sys.stdout.flush()
        # MPI_Abort makes the launcher kill every process at once; a moment's pause lets it
        # forward what this rank just wrote, so the user sees why the job stopped.
        time.sleep(0.5)
        impl.abort(1)


def is_initialized():
    return _state.backend is not None


def default_backend():
    """The backend object of the default group (raises if there is none)."""
    if _state.backend is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _state.backend


def _check_group(group):
    if group is not None:
        raise NotImplementedError("tinydl.distributed: only the default group (group=None) is supported")


def get_rank(group=None):
    _check_group(group)
    return default_backend().rank


def get_world_size(group=None):
    _check_group(group)
    return default_backend().size


def get_backend(group=None):
    _check_group(group)
    return default_backend().name


def destroy_process_group(group=None):
    """Leave the default group (MPI itself stays initialized until the process exits)."""
    _check_group(group)
    impl = default_backend()
    _state.backend = None
    if sys.excepthook is _abort_on_uncaught_exception:
        sys.excepthook = _state.previous_hook
    impl.shutdown()
