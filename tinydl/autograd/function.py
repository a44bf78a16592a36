"""``once_differentiable`` for the backward of a custom ``autograd.Function``.

>>> import tinydl
>>> from tinydl.autograd import Function, once_differentiable
>>> class Square(Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     @once_differentiable
...     def backward(ctx, g):
...         x, = ctx.saved_tensors
...         return 2 * x * g
>>> x = tinydl.Tensor([3.0], requires_grad=True)
>>> Square.apply(x).sum().backward()
>>> x.grad
Tensor([6.], dtype=float32)
"""
import functools

from ..core.autograd import Function, _NotTwiceDifferentiable, is_grad_enabled, no_grad, enable_grad


def once_differentiable(backward):
    """Run a ctx backward without recording; with create_graph its results are tied to the graph
    through a node that raises (naming the Function) if differentiated again."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        recording = is_grad_enabled()
        with no_grad():
            out = backward(ctx, *grads)
        if not recording:
            return out
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        deps = [t for t in ctx._inputs if t.requires_grad] + [g for g in grads if g is not None and g.requires_grad]
        with enable_grad():
            outs = tuple(None if r is None else
                         _NotTwiceDifferentiable.apply(r, *deps, op=type(ctx).__name__) for r in outs)
        return outs[0] if single else outs
    return wrapper


__all__ = ["Function", "once_differentiable"]
