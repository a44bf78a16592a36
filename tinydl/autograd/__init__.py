"""``tinydl.autograd``: PyTorch's autograd API over tinydl's one graph mechanism.

- ``grad(outputs, inputs, ...)``: gradients as values, without touching ``.grad``;
  ``create_graph=True`` records them, so they can be differentiated again.
- ``backward(tensors, grad_tensors, ...)``: ``Tensor.backward`` for several outputs at once.
- ``Function``: custom ops with ``forward(ctx, ...)``/``backward(ctx, ...)`` static methods.
- ``functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

>>> import tinydl
>>> x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
>>> (g,) = tinydl.autograd.grad((x ** 3).sum(), x, create_graph=True)
>>> g
Tensor([ 3., 12.], dtype=float32, grad_fn=<MulBackward>)
>>> tinydl.autograd.grad(g.sum(), x)[0]
Tensor([ 6., 12.], dtype=float32)
"""
from ..core.autograd import (Function, AnomalyError, no_grad, enable_grad, set_grad_enabled,  # noqa: F401
                             is_grad_enabled, detect_anomaly, set_detect_anomaly, is_anomaly_enabled)
from ..core.engine import make_grads, run_backward
from ..core.tensor import Tensor
from .function import once_differentiable  # noqa: F401


def _seq(x):
    return [x] if isinstance(x, Tensor) else list(x)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (a tuple, one per input).

    ``grad_outputs`` are the vectors of the vector-Jacobian product (required for non-scalar
    outputs); ``allow_unused=True`` returns None for an input the outputs do not depend on
    (``materialize_grads=True``: zeros); ``retain_graph`` defaults to ``create_graph``.
    """
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not implemented in tinydl")
    if materialize_grads and allow_unused is False:
        raise ValueError("autograd.grad: expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got allow_unused=False")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs, inputs = _seq(outputs), _seq(inputs)
    if grad_outputs is not None:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd.grad: input {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: one of the differentiated Tensors (input {i}, shape "
                               f"{t.shape}) does not require grad")
    seeds = make_grads(outputs, grad_outputs, create_graph, what="autograd.grad")
    if retain_graph is None:
        retain_graph = create_graph
    found = run_backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                         inputs=inputs, accumulate=False)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if materialize_grads:
                g = t.xp.zeros_like(t.data)
            elif not allow_unused:
                raise RuntimeError(f"autograd.grad: one of the differentiated Tensors (input {i}, shape "
                                   f"{t.shape}) appears to not have been used in the graph. Set "
                                   f"allow_unused=True if this is the desired behavior.")
            else:
                result.append(None)
                continue
        result.append(g if isinstance(g, Tensor) else Tensor._wrap(g))
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of several outputs into the leaves' ``.grad`` in one walk."""
    tensors = _seq(tensors)
    if grad_tensors is not None:
        grad_tensors = [grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors)
    seeds = make_grads(tensors, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=None if inputs is None else _seq(inputs))


from . import functional, forward_ad  # noqa: E402,F401 - after grad(), which functional uses

__all__ = ["grad", "backward", "Function", "functional", "forward_ad", "once_differentiable", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled"]
