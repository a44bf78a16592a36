"""Analytic gradients against central finite differences, in float64."""
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from ..core.tensor import Tensor
from ..core import autograd


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message says where and by how much."""


def _as_float64_leaf(x):
    if isinstance(x, Tensor):
        x = x.detach().numpy()
    arr = np.array(x, dtype=np.float64, order="C")  # a private C-ordered copy: perturbed in place below
    return Tensor(arr, requires_grad=True)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-5, wrt=None, seed=0):
    """Check ``fn``'s gradients with respect to each input against central finite differences.

    ``fn`` takes Tensors and returns a Tensor of any shape; it is reduced to a scalar by a fixed
    random projection, so every output element's gradient is exercised. Inputs are converted to
    float64 leaves. ``wrt`` restricts the check to some input positions (others are passed as
    float64 constants; integer arrays, e.g. labels, are passed unchanged and never checked).
    Returns True, or raises GradcheckError naming the input, the worst element's index, the
    analytic and numeric values and the tolerance.
    """
    leaves = _leaves(inputs, wrt)
    checked = [i for i, t in enumerate(leaves) if t.requires_grad]

    with autograd.enable_grad():
        out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        (out * Tensor(projection)).sum().backward()

    def scalar_value():
        with autograd.no_grad():
            return float((fn(*leaves).detach().numpy().astype(np.float64) * projection).sum())

    for i in checked:
        leaf = leaves[i]
        analytic = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.detach().numpy()
        _report("gradcheck", f"input {i}", leaf, analytic, _numeric(leaf, scalar_value, eps), atol, rtol)
    return True


def gradgradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-4, wrt=None, seed=0):
    """Check ``fn``'s second derivatives: the gradient of its (recorded, ``create_graph=True``)
    first-order gradient against central differences of the first-order gradient, in float64.

    The first-order gradient is the vector-Jacobian product with ``grad_outputs`` (a fixed random
    tensor when None); it is reduced to a scalar by a random projection, and that scalar is
    differentiated with respect to each checked input and to ``grad_outputs`` itself (the backward
    must be linear in it). Inputs are handled as in ``gradcheck``. Returns True, or raises
    GradcheckError naming the input, the worst element's index, both values and the tolerance.
    """
    from .. import autograd as ag
    leaves = _leaves(inputs, wrt)
    checked = [t for t in leaves if t.requires_grad]
    if not checked:
        return True
    rng = np.random.default_rng(seed)
    with autograd.enable_grad():
        out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        return True
    v_arr = rng.standard_normal(out.shape) if grad_outputs is None else \
        np.array(grad_outputs.detach().numpy() if isinstance(grad_outputs, Tensor) else grad_outputs, dtype=np.float64)
    v = Tensor(np.array(v_arr, dtype=np.float64, order="C"), requires_grad=True)
    projections = [rng.standard_normal(t.shape) for t in checked]

    def projected(first):
        total = None
        for g, u in zip(first, projections):
            if g is not None:
                term = (g * Tensor(u)).sum()
                total = term if total is None else total + term
        return total

    with autograd.enable_grad():
        first = ag.grad(out, checked, grad_outputs=v, create_graph=True, allow_unused=True)
        s = projected(first)
        variables = checked + [v]
        if s is None or not s.requires_grad:
            analytic = [np.zeros(t.shape) for t in variables]
        else:
            second = ag.grad(s, variables, allow_unused=True)
            analytic = [np.zeros(t.shape) if g is None else g.detach().numpy() for t, g in zip(variables, second)]

    def scalar_value():
        with autograd.enable_grad():
            o = fn(*leaves)
            if not o.requires_grad:
                return 0.0
            gs = ag.grad(o, checked, grad_outputs=Tensor(v.data), allow_unused=True)
        total = 0.0
        for g, u in zip(gs, projections):
            if g is not None:
                total += float((g.detach().numpy().astype(np.float64) * u).sum())
        return total

    names = [f"input {next(i for i, x in enumerate(leaves) if x is t)}" for t in checked] + ["grad_outputs"]
    for name, var, ana in zip(names, variables, analytic):
        numeric = _numeric(var, scalar_value, eps)
        _report("gradgradcheck", name, var, ana, numeric, atol, rtol)
    return True


def _leaves(inputs, wrt):
    leaves = []
    for i, x in enumerate(inputs):
        arr = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
        if arr.dtype.kind != "f" or (wrt is not None and i not in wrt):
            leaves.append(Tensor(arr.astype(np.float64)) if arr.dtype.kind == "f" else
                          x if isinstance(x, Tensor) else Tensor(arr))
        else:
            leaves.append(_as_float64_leaf(arr))
    return leaves


def _numeric(leaf, scalar_value, eps):
    numeric = np.zeros(leaf.shape)
    flat = leaf.data.reshape(-1)  # a view: perturb in place
    for k in range(flat.size):
        orig = flat[k].item()  # a Python float: a CuPy 0-d index would be a view
        flat[k] = orig + eps
        plus = scalar_value()
        flat[k] = orig - eps
        minus = scalar_value()
        flat[k] = orig
        numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
    return numeric


def _report(what, name, leaf, analytic, numeric, atol, rtol):
    err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    err = np.where(np.isnan(err), np.inf, err)  # NaN anywhere is a failure, never a pass
    if err.size and err.max() > 0:
        worst = np.unravel_index(int(np.argmax(err)), err.shape)
        raise GradcheckError(
            f"{what} failed for {name} (shape {leaf.shape}) at index {tuple(int(j) for j in worst)}: "
            f"analytic {analytic[worst]:.10g} vs numeric {numeric[worst]:.10g} "
            f"(|diff| {abs(analytic[worst] - numeric[worst]):.3g} > atol {atol} + rtol {rtol} * |numeric|)")


@dataclass
class OpSpec:
    """One op's test recipe: what to call, the NumPy oracle, and how to draw its inputs.

    ``inputs`` is a hypothesis strategy producing a tuple of numpy arrays (see
    ``tinydl.testing.strategies``); ``covers`` names the Function classes this spec tests,
    for the op inventory.
    """

    name: str
    fn: Callable
    reference: Optional[Callable]
    inputs: object
    covers: Sequence[str] = field(default_factory=tuple)
    atol: float = 1e-6
    rtol: float = 1e-5
    fwd_rtol: float = 1e-6
    wrt: Optional[Sequence[int]] = None
    eps: float = 1e-6
    second_order: bool = True  # False: the op is once-differentiable, or its second derivative is
    #                            checked elsewhere; ``check_op_spec_second_order`` skips it

    def __repr__(self):
        return self.name


def check_op_spec(spec, arrays):
    """Forward against the reference (float64 and float32), then gradcheck in float64."""
    arrays = tuple(arrays)
    if spec.reference is not None:
        got = spec.fn(*[Tensor(a) for a in arrays]).detach().numpy()
        want = np.asarray(spec.reference(*arrays))
        np.testing.assert_allclose(got, want, rtol=spec.fwd_rtol, atol=1e-12,
                                   err_msg=f"{spec.name}: forward differs from the NumPy reference")
        as32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
        got32 = spec.fn(*[Tensor(a) for a in as32])
        if got32.dtype.kind == "f":
            assert got32.dtype == np.float32, f"{spec.name}: float32 inputs gave {got32.dtype}"
            np.testing.assert_allclose(got32.detach().numpy(), want, rtol=2e-3, atol=2e-4,
                                       err_msg=f"{spec.name}: float32 forward is off")
    gradcheck(spec.fn, *arrays, eps=spec.eps, atol=spec.atol, rtol=spec.rtol, wrt=spec.wrt)


def check_op_spec_second_order(spec, arrays):
    """gradgradcheck of the spec's function in float64 (tolerances at least 1e-5 / 1e-4)."""
    gradgradcheck(spec.fn, *tuple(arrays), eps=spec.eps, atol=max(spec.atol, 1e-5),
                  rtol=max(spec.rtol, 1e-4), wrt=spec.wrt)
