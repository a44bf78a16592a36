"""Record which module made each op during a forward pass (used by tinydl.viz and tinydl.summary).

``with ModuleTrace(model) as trace: out = model(x)`` wraps the ``forward`` of ``model`` and of every
submodule for the duration of the block, so that each op created inside a module's forward is
tagged with that module's dotted path (``fn.module_path``, e.g. ``"encoder.0"``; the model
itself is ``""``), and each module call is recorded with its output (``trace.calls``).
Nothing is changed outside the block; ops and module calls made in other threads are not seen.
"""
import contextvars

from .core.hooks import Observer, op_observer
from .costs import op_macs

_current_path = contextvars.ContextVar("tinydl_module_path", default=None)


class ModuleCall:
    """One call of a module: its path, the module, its outputs' shapes/dtypes/bytes, and its MACs."""

    __slots__ = ("path", "module", "outputs", "macs", "order")

    def __init__(self, path, module, order):
        self.path, self.module, self.order = path, module, order
        self.outputs, self.macs = [], 0

    @property
    def output_bytes(self):
        return sum(nbytes for _, _, nbytes in self.outputs)


class ModuleTrace(Observer):
    def __init__(self, model):
        self.model = model
        self.paths = {}         # id(module) -> dotted path
        self.modules = {}       # dotted path -> module
        for path, m in model.named_modules():
            self.paths.setdefault(id(m), path)
            self.modules.setdefault(path, m)
        self.calls = []         # ModuleCall, in the order the calls started
        self.total_macs = 0
        self._patched = []

    def __enter__(self):
        super().__enter__()
        for path, m in self.modules.items():
            self._patch(path, m)
        return self

    def __exit__(self, *exc):
        for m, had, old in self._patched:
            if had:
                object.__setattr__(m, "forward", old)
            else:
                del m.__dict__["forward"]
        self._patched = []
        return super().__exit__(*exc)

    def _patch(self, path, m):
        had = "forward" in m.__dict__
        inner = m.forward
        trace = self

        def forward(*args, **kwargs):
            if not trace._sees_this_context():  # another thread calling the model: not ours
                return inner(*args, **kwargs)
            call = ModuleCall(path, m, len(trace.calls))
            trace.calls.append(call)
            stack = _current_path.get() or ()
            token = _current_path.set(stack + (call,))
            try:
                out = inner(*args, **kwargs)
            finally:
                _current_path.reset(token)
            for t in _flatten(out):
                data = getattr(t, "data", None)
                if data is not None and hasattr(data, "shape"):
                    call.outputs.append((tuple(data.shape), data.dtype, int(data.nbytes)))
            return out

        self._patched.append((m, had, m.__dict__.get("forward")))
        object.__setattr__(m, "forward", forward)

    def _sees_this_context(self):
        obs = op_observer.get()
        while obs is not None:
            if obs is self:
                return True
            obs = obs.outer
        return False

    def forward(self, fn, arrays):
        out = super().forward(fn, arrays)
        stack = _current_path.get() or ()
        fn.module_path = stack[-1].path if stack else None
        macs = op_macs(fn, arrays, out)
        if macs:
            self.total_macs += macs
            for call in stack:  # a container's MACs include its children's
                call.macs += macs
        return out


def _flatten(x):
    if isinstance(x, (list, tuple)):
        for v in x:
            yield from _flatten(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _flatten(v)
    else:
        yield x
