"""Work handles and reduction ops shared by the backends."""
import enum
import time


class ReduceOp(enum.Enum):
    """torch.distributed.ReduceOp's members that tinydl supports.

    AVG: the sum divided by the world size (floating-point tensors only; PyTorch offers it only
    with NCCL). tinydl sums first and divides once, so the result is the correctly rounded mean of
    the rounded sum rather than the sum of pre-divided values.
    """
    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"


class DistributedTimeoutError(RuntimeError):
    """A collective did not complete within the process group's timeout."""


class Work:
    """What a collective with ``async_op=True`` returns (PyTorch's ``Work``).

    ``wait()`` blocks until the operation is done (or the group's timeout passes, raising
    ``DistributedTimeoutError``) and returns True; ``is_completed()`` never blocks.
    The result is in the tensors given to the collective once ``wait()`` returns.
    """

    def __init__(self, op_name, test, timeout, describe, finish=None, result=None):
        self._op_name, self._test, self._timeout = op_name, test, timeout
        self._describe, self._finish, self._result = describe, finish, result
        self._done = False

    def _complete(self):
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self):
        """Whether the operation has finished (also drives MPI progress)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed()

    def wait(self, timeout=None):
        """Block until done; raise ``DistributedTimeoutError`` after ``timeout`` seconds (a
        ``datetime.timedelta`` or a number; default: the process group's timeout)."""
        if self._done:
            return True
        limit = self._timeout if timeout is None else _seconds(timeout)
        start = time.monotonic()
        deadline, spins = start + limit, 0
        while not self._test():
            spins += 1
            if spins > 2000:  # past the fast path: poll gently so a waiting rank yields the CPU
                time.sleep(0.0002)
                if time.monotonic() > deadline:
                    raise DistributedTimeoutError(
                        f"tinydl.distributed: {self._op_name} on {self._describe()} did not complete "
                        f"within {limit:g} s; another rank has probably died, raised, or not reached "
                        f"this collective (the ranks must call the same collectives in the same order)")
        self._complete()
        return True

    def result(self):
        self.wait()
        return self._result


class CompletedWork(Work):
    """A Work that is already done (a collective on one process, or a synchronous backend)."""

    def __init__(self, result=None):
        super().__init__("done", lambda: True, 0.0, lambda: "", None, result)
        self._done = True


def _seconds(timeout):
    seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
    if not seconds > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return seconds
