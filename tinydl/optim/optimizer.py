"""The optimizer base class: param groups, per-parameter state and PyTorch's state_dict layout.

Subclasses define ``_update(p, g, state, group, lr)`` for one parameter (``g`` a raw array, the
gradient after clipping) and, where they have one, ``_fused_step`` for the GPU (and the CPU too
when ``_fused_on_cpu``: Adam, whose providers' kernels compute ``_update`` exactly).

``optimizer.state`` maps each parameter (the Tensor itself) to its state dict, as in PyTorch; the
state values are Tensors (``step`` a 0-d float32 Tensor). ``state_dict()`` has PyTorch's layout:

    {"state": {0: {"step": Tensor(3.), "exp_avg": Tensor(...), ...}, ...},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1, ...]}, ...]}

with parameters numbered in group order, so a state_dict saved by PyTorch loads here and one
saved here loads in PyTorch. Two tinydl additions: ``lr`` may be a callable of the step number (a
Keras-style schedule, evaluated at ``optimizer.iterations``), and ``clipnorm``/``clipvalue``
clip copies of the gradients before the update (the Keras facade uses them).
"""
import collections

import numpy as np

from ..core.grad_mode import enable_grad
from ..core.tensor import Tensor
from .clip import clip_coefficient, total_norm


def _plain(value):
    """Hyperparameters as Python numbers/bools/tuples: a numpy float64 scalar would upcast float32 arrays."""
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):  # e.g. a value read back from a file
        value = value.tolist()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value  # a Python number, None, a string, or a callable lr schedule


def _state_copy(value):
    """A state value for state_dict(): Tensors become private copies (later in-place updates must
    not change a saved state dict)."""
    if isinstance(value, Tensor):
        return Tensor._wrap(value.xp.array(value.data, copy=True))
    return value


class Optimizer:
    """Base class of tinydl.optim's optimizers (PyTorch's ``torch.optim.Optimizer``).

    ``params``: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts
    ``{"params": [...], **overrides}`` (param groups). ``defaults``: the hyperparameters each
    group starts from.
    """

    def __init__(self, params, defaults, clipnorm=None, clipvalue=None):
        self.defaults = {k: _plain(v) for k, v in defaults.items()}
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.iterations = 0
        self.param_groups = []
        self.state = collections.defaultdict(dict)  # parameter Tensor -> its state (PyTorch's defaultdict)
        if isinstance(params, Tensor):
            raise TypeError(f"params argument given to the optimizer should be an iterable of Tensors or "
                            f"dicts, but got {type(params).__name__}")
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list instead.")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add ``{"params": [...], **overrides}``; missing settings come from the defaults."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError("a param group must be a dict with a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            names = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        new = dict(self.defaults)
        new.update({k: _plain(v) for k, v in param_group.items() if k != "params"})
        new["params"] = params
        if names is not None:
            new["param_names"] = names
        self.param_groups.append(new)

    # ---- the learning rate ------------------------------------------------------------------
    def _lr_value(self, lr):
        return float(lr(self.iterations)) if callable(lr) else lr

    @property
    def lr(self):
        """tinydl's shortcut: the first group's learning rate now; setting it sets every group's."""
        return self._lr_value(self.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value):
        for group in self.param_groups:
            group["lr"] = _plain(value)

    # ---- stepping ---------------------------------------------------------------------------
    def _params(self):
        for group in self.param_groups:
            for p in group["params"]:
                yield p, group

    def _clip(self, grads):
        if self.clipnorm is not None:
            coef = clip_coefficient(total_norm(grads), self.clipnorm)
            if coef < 1.0:
                grads = [g * coef for g in grads]
        if self.clipvalue is not None:
            c = self.clipvalue
            grads = [g.clip(-c, c) for g in grads]
        return grads

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` (optional) re-evaluates the model
        (with gradients enabled) and returns the loss, which ``step`` returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        todo = [(p, self.state.setdefault(p, {}), group) for p, group in self._params() if p.grad is not None]
        grads = self._clip([p.grad.data for p, _, _ in todo])
        if not (todo and (self._fused_on_cpu or _on_gpu(todo[0][0])) and self._fused_step(todo, grads)):
            for (p, state, group), g in zip(todo, grads):
                self._update(p, g, state, group, self._lr_value(group["lr"]))
        for p, _, _ in todo:  # changed in place: a backward through a graph made before this raises
            p._bump_version()
        self.iterations += 1
        return loss

    # Whether ``_fused_step`` also runs on the CPU (where the provider's update is the same
    # arithmetic as ``_update``, bit for bit, in one pass per parameter instead of a dozen).
    _fused_on_cpu = False

    def _fused_step(self, todo, grads):
        """On the GPU, update all parameters in one kernel launch; False if this case has no fused kernel."""
        return False

    def _by_group(self, todo, grads):
        groups = {}
        for (p, state, group), g in zip(todo, grads):
            groups.setdefault(id(group), (group, []))[1].append((p, state, g))
        return groups.values()

    def _update(self, p, g, state, group, lr):
        raise NotImplementedError

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (the default), or to zeros in place."""
        for p, _ in self._params():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    @staticmethod
    def _buffer(state, name, p, fill=0.0):
        """The raw array of state ``name`` for ``p``, created as ``fill`` in p's shape and dtype on first use."""
        if name not in state:
            state[name] = Tensor._wrap(p.xp.full_like(p.data, fill))
        return state[name].data

    @staticmethod
    def _count_step(state, p):
        """Increment the per-parameter step (a 0-d float32 Tensor, as PyTorch keeps it); return it."""
        if "step" not in state:
            state["step"] = Tensor._wrap(p.xp.zeros((), dtype=np.float32))
        state["step"].data[...] += 1
        return float(state["step"].data)

    # ---- saving and loading -----------------------------------------------------------------
    def state_dict(self):
        """PyTorch's layout: ``{"state": {index: {name: Tensor}}, "param_groups": [{..., "params": [index...]}]}``.

        The state Tensors are copies. A callable ``lr`` is code, not state: it is stored as None
        (with ``"iterations"``, tinydl's step counter, added at the top level) and the loading
        optimizer keeps its own.
        """
        index, groups, state = 0, [], {}
        has_schedule = False
        for group in self.param_groups:
            g = {}
            for k, v in group.items():
                if k == "params":
                    continue
                if callable(v):
                    has_schedule, v = True, None
                g[k] = v
            ids = list(range(index, index + len(group["params"])))
            for i, p in zip(ids, group["params"]):
                if self.state.get(p):
                    state[i] = {k: _state_copy(v) for k, v in self.state[p].items()}
            g["params"] = ids
            index += len(ids)
            groups.append(g)
        out = {"state": state, "param_groups": groups}
        if has_schedule:
            out["iterations"] = self.iterations
        return out

    def load_state_dict(self, state_dict):
        """Restore a state_dict (this optimizer's or PyTorch's); raises ValueError, before changing
        anything, when it does not fit. Keys of ``state`` may be ints or their strings; values
        Tensors, numpy arrays or numbers. Floating state is cast to its parameter's dtype and device."""
        name = type(self).__name__
        # a tag tinydl.keras adds (PyTorch's dicts have none); a rule's base class keeps the same
        # state (KerasAdam reads an Adam state)
        accepted = {c.__name__ for c in type(self).__mro__}
        if state_dict.get("optimizer", name) not in accepted:
            raise ValueError(f"{name}.load_state_dict: this state is from {state_dict['optimizer']}, not {name}")
        groups, states = state_dict["param_groups"], state_dict["state"]
        if isinstance(states, list):  # tinydl's layout before PyTorch's: per-parameter list, "num_params"
            groups, start = [dict(g) for g in groups], 0
            for g in groups:
                g["params"] = list(range(start, start + int(g.pop("num_params"))))
                start += len(g["params"])
            states = {i: s for i, s in enumerate(states) if s}
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has a different number of parameter "
                             f"groups ({len(groups)}) than this optimizer ({len(self.param_groups)})")
        id_to_param = {}
        for k, (g, mine) in enumerate(zip(groups, self.param_groups)):
            if len(g["params"]) != len(mine["params"]):
                raise ValueError(f"{name}.load_state_dict: loaded state dict contains a parameter group that "
                                 f"doesn't match the size of optimizer's group (group {k}: "
                                 f"{len(g['params'])} parameters in the state, {len(mine['params'])} here)")
            for saved_id, p in zip(g["params"], mine["params"]):
                id_to_param[int(saved_id)] = p
        new_state = collections.defaultdict(dict)
        for key, entries in states.items():
            try:
                p = id_to_param[int(key)]
            except (KeyError, ValueError):
                raise ValueError(f"{name}.load_state_dict: the state has an entry for parameter {key!r}, "
                                 "which no param group lists") from None
            new_state[p] = {}
            for sname, v in entries.items():
                new_state[p][sname] = _restore(v, p, sname, int(key), name)

        self.iterations = int(state_dict.get("iterations", self.iterations))
        for g, mine in zip(groups, self.param_groups):
            for k, v in g.items():
                if k == "params" or (v is None and callable(mine.get(k))):  # a schedule stays as it is
                    continue
                mine[k] = _plain(v)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k not in ("params", "param_names")]
        return "\n".join(lines + [")"])


def _restore(v, p, sname, index, owner):
    """One loaded state value: arrays become Tensors on p's device (floating ones in p's dtype,
    ``step`` kept as it is), after checking their shape."""
    if isinstance(v, Tensor):
        v = v.detach().numpy()
    if isinstance(v, np.ndarray) or hasattr(v, "shape") and hasattr(v, "dtype"):
        arr = np.asarray(v.get() if hasattr(v, "get") else v)
        if sname == "step":
            return Tensor._wrap(p.xp.asarray(arr, dtype=np.float32).reshape(()))
        if tuple(arr.shape) != tuple(p.shape):
            raise ValueError(f"{owner}.load_state_dict: state {sname!r} of parameter {index} has shape "
                             f"{tuple(arr.shape)} but the parameter has shape {tuple(p.shape)}")
        dtype = p.dtype if arr.dtype.kind in "fc" else arr.dtype
        return Tensor._wrap(p.xp.array(arr, dtype=dtype))
    if sname == "step" and isinstance(v, (int, float)):
        return Tensor._wrap(p.xp.asarray(float(v), dtype=np.float32))
    return v


def _on_gpu(p):
    from ..backends import is_gpu_array
    return is_gpu_array(p.data)
