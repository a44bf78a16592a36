"""tinydl.profiler: where the time of a step goes, op by op.

>>> import tinydl
>>> from tinydl import profiler
>>> x = tinydl.Tensor([[1.0, 2.0]], requires_grad=True)
>>> with profiler.profile() as prof:
...     (x @ x.T * 3).sum().backward()
>>> sorted(e.key for e in prof.key_averages())
['MatMul', 'MatMulBackward', 'Mul', 'MulBackward', 'Sum', 'SumBackward', 'Transpose', 'TransposeBackward']

Every op's forward (named after the op, ``"MatMul"``) and backward (``"MatMulBackward"``) is
timed with ``time.perf_counter_ns``; ``record_function(name)`` adds ranges of your own (say,
``"optimizer.step"``). Self time excludes the ops and ranges nested inside. FLOPs are counted
where tinydl knows them (``tinydl.costs``). On the GPU each op waits for the device before
its timer stops, so times are the op's real duration (and a profiled step runs slower).

The profiler sees only the ops of the thread (or asyncio task) that entered it: its state is a
ContextVar, never process-global.
"""
import contextlib
import contextvars
import json
import os
import threading
import time

from . import backends
from .core.graph_view import op_name
from .core.hooks import Observer
from .costs import op_backward_flops, op_flops, op_macs

_active = contextvars.ContextVar("tinydl_profiler", default=None)

_SORT_KEYS = {
    "self_cpu_time_total": "self_time_ns", "cpu_time_total": "total_time_ns",
    "cpu_time": "avg_time_ns", "self_cpu_time": "avg_self_time_ns",
    "count": "count", "flops": "flops",
}
_UNSUPPORTED_SORT = ("cuda_time", "cuda_time_total", "self_cuda_time_total", "device_time",
                     "device_time_total", "self_device_time_total", "cpu_memory_usage",
                     "cuda_memory_usage", "self_cpu_memory_usage", "self_cuda_memory_usage")


class Event:
    """One timed call: an op's forward or backward, or a ``record_function`` range."""

    __slots__ = ("name", "kind", "start_ns", "dur_ns", "self_ns", "flops", "shapes", "tid", "_child_ns")

    def __init__(self, name, kind, start_ns, tid, shapes=None):
        self.name, self.kind, self.start_ns, self.tid, self.shapes = name, kind, start_ns, tid, shapes
        self.dur_ns = self.self_ns = 0
        self.flops = None
        self._child_ns = 0

    def __repr__(self):
        return f"<Event {self.name} {self.kind} {self.dur_ns / 1e3:.1f}us>"


class EventAverage:
    """The events of one name summed up (PyTorch's ``FunctionEventAvg``); times in nanoseconds."""

    def __init__(self, key):
        self.key = key
        self.count = 0
        self.total_time_ns = self.self_time_ns = 0
        self.flops = None

    def add(self, e):
        self.count += 1
        self.total_time_ns += e.dur_ns
        self.self_time_ns += e.self_ns
        if e.flops is not None:
            self.flops = (self.flops or 0) + e.flops

    @property
    def avg_time_ns(self):
        return self.total_time_ns / self.count

    @property
    def avg_self_time_ns(self):
        return self.self_time_ns / self.count

    # PyTorch's attribute names, in microseconds
    @property
    def cpu_time_total(self):
        return self.total_time_ns / 1e3

    @property
    def self_cpu_time_total(self):
        return self.self_time_ns / 1e3

    def __repr__(self):
        return f"<EventAverage {self.key}: {self.count} calls, {self.total_time_ns / 1e6:.3f} ms>"


def _sync(array):
    if backends.is_gpu_array(array):
        backends.get_array_module(array).cuda.get_current_stream().synchronize()


def _first_array(x):
    if isinstance(x, (list, tuple)):
        return next((a for a in x if a is not None), None)
    return x


class profile(Observer):
    """``with profile() as prof:`` records the ops run in the block; then ``prof.table()``.

    ``record_shapes=True`` keeps each op's forward input shapes (in the events and the Chrome trace);
    ``with_flops=False`` skips FLOP counting. PyTorch's other options (activities, schedules,
    memory profiling, stacks) are not implemented and raise NotImplementedError.
    """

    def __init__(self, record_shapes=False, with_flops=True, **unsupported):
        if unsupported:
            raise NotImplementedError(f"tinydl.profiler.profile: {sorted(unsupported)} not implemented "
                                      "(supported: record_shapes, with_flops)")
        self.record_shapes, self.with_flops = record_shapes, with_flops
        self.events = []
        self._stack = []
        self._t0 = None
        self.wall_ns = None

    def __enter__(self):
        super().__enter__()
        self._prof_token = _active.set(self)
        self._t0 = time.perf_counter_ns()
        return self

    def __exit__(self, *exc):
        self.wall_ns = time.perf_counter_ns() - self._t0
        _active.reset(self._prof_token)
        return super().__exit__(*exc)

    # ---- recording --------------------------------------------------------------------------
    def _begin(self, name, kind, shapes=None):
        e = Event(name, kind, time.perf_counter_ns(), threading.get_ident(), shapes)
        self._stack.append(e)
        return e

    def _end(self, e):
        e.dur_ns = time.perf_counter_ns() - e.start_ns
        e.self_ns = e.dur_ns - e._child_ns
        self._stack.pop()
        if self._stack:
            self._stack[-1]._child_ns += e.dur_ns
        self.events.append(e)

    def forward(self, fn, arrays):
        e = self._begin(op_name(fn), "forward", [tuple(a.shape) for a in arrays] if self.record_shapes else None)
        try:
            out = super().forward(fn, arrays)
            _sync(out)
        finally:
            self._end(e)
        if self.with_flops:
            e.flops = op_flops(fn, arrays, out)
            fn.profiled_macs = op_macs(fn, arrays, out)  # for the backward's count
        return out

    def backward(self, fn, run):
        e = self._begin(op_name(fn) + "Backward", "backward")
        macs = getattr(fn, "profiled_macs", 0)
        try:
            grads = super().backward(fn, run)
            _sync(_first_array(grads))
        finally:
            self._end(e)
        if self.with_flops:
            e.flops = op_backward_flops(fn, macs)
        return grads

    # ---- results ----------------------------------------------------------------------------
    def key_averages(self):
        """One ``EventAverage`` per event name, in order of first appearance."""
        groups = {}
        for e in sorted(self.events, key=lambda e: e.start_ns):
            groups.setdefault(e.name, EventAverage(e.name)).add(e)
        return list(groups.values())

    def self_time_total_ns(self):
        return sum(e.self_ns for e in self.events)

    def table(self, sort_by=None, row_limit=100):
        """A per-name table like PyTorch's ``prof.key_averages().table(sort_by=..., row_limit=...)``.

        ``sort_by``: ``"self_cpu_time_total"``, ``"cpu_time_total"``, ``"cpu_time"`` (average),
        ``"self_cpu_time"`` (average self), ``"count"`` or ``"flops"``, largest first; None keeps
        the order of first appearance.
        """
        rows = self.key_averages()
        if sort_by is not None:
            if sort_by in _UNSUPPORTED_SORT:
                raise NotImplementedError(f"profile.table: sort_by={sort_by!r}: tinydl measures one time "
                                          "per op (device-synchronised on the GPU), and no memory")
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"profile.table: unknown sort_by {sort_by!r}; use one of {sorted(_SORT_KEYS)}")
            attr = _SORT_KEYS[sort_by]
            rows.sort(key=lambda r: getattr(r, attr) or 0, reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        total_self = self.self_time_total_ns() or 1
        has_flops = any(r.flops is not None for r in self.key_averages())
        head = ["Name", "Self %", "Self time", "Total %", "Total time", "Avg time", "# of Calls"]
        if has_flops:
            head.append("Total FLOPs")
        body = []
        for r in rows:
            cells = [r.key, f"{100 * r.self_time_ns / total_self:.2f}%", _fmt_ns(r.self_time_ns),
                     f"{100 * r.total_time_ns / total_self:.2f}%", _fmt_ns(r.total_time_ns),
                     _fmt_ns(r.avg_time_ns), str(r.count)]
            if has_flops:
                cells.append(_fmt_flops(r.flops))
            body.append(cells)
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
        widths[0] = max(widths[0], 20)
        sep = "  ".join("-" * w for w in widths)

        def line(cells):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        out = [sep, line(head), sep] + [line(b) for b in body] + [sep]
        out.append(f"Self time total: {_fmt_ns(self.self_time_total_ns())}"
                   + (f"  (wall time in the profiled block: {_fmt_ns(self.wall_ns)})" if self.wall_ns else ""))
        return "\n".join(out)

    def export_chrome_trace(self, path):
        """Write the events in Chrome's trace-event format (open in chrome://tracing or Perfetto)."""
        pid = os.getpid()
        t0 = self._t0 or 0
        trace = []
        for e in sorted(self.events, key=lambda e: e.start_ns):
            args = {}
            if e.flops is not None:
                args["flops"] = e.flops
            if e.shapes is not None:
                args["Input Dims"] = [list(s) for s in e.shapes]
            trace.append({"name": e.name, "cat": e.kind, "ph": "X", "pid": pid, "tid": e.tid,
                          "ts": (e.start_ns - t0) / 1e3, "dur": e.dur_ns / 1e3, "args": args})
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)
        return path


@contextlib.contextmanager
def record_function(name):
    """Time a block of your own code as one named range in the active profiler (a no-op without one)."""
    prof = _active.get()
    if prof is None:
        yield
        return
    e = prof._begin(name, "user")
    try:
        yield
    finally:
        prof._end(e)


def _fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e9:
        return f"{ns / 1e9:.3f}s"
    if ns >= 1e6:
        return f"{ns / 1e6:.3f}ms"
    return f"{ns / 1e3:.3f}us"


def _fmt_flops(f):
    if f is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if f >= scale:
            return f"{f / scale:.3f}{unit}"
    return str(f)
