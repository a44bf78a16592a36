"""Tensor.register_post_accumulate_grad_hook (PyTorch's semantics), which DDP builds on."""
import pytest

import tinydl


def test_hook_runs_once_after_all_contributions_are_accumulated():
    w = tinydl.Tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    ((w * w).sum() + (w * 3).sum() + w.sum()).backward()   # three uses of w
    assert seen == [[6.0, 8.0]]
    (w * 2).sum().backward()                               # accumulates onto the old grad
    assert seen == [[6.0, 8.0], [8.0, 10.0]]
    handle.remove()
    handle.remove()
    w.sum().backward()
    assert len(seen) == 2


def test_hooks_fire_in_backward_order_and_on_a_leaf_backward():
    a = tinydl.Tensor([1.0], requires_grad=True)
    b = tinydl.Tensor([2.0], requires_grad=True)
    order = []
    a.register_post_accumulate_grad_hook(lambda t: order.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: order.append("b"))
    ((a * 3).tanh() * b).sum().backward()   # b's gradient is ready before a's
    assert order == ["b", "a"]
    a.backward(tinydl.Tensor([1.0]))
    assert order == ["b", "a", "a"]


def test_no_hook_when_no_gradient_reaches_the_leaf():
    a = tinydl.Tensor([1.0], requires_grad=True)
    b = tinydl.Tensor([1.0], requires_grad=True)
    fired = []
    b.register_post_accumulate_grad_hook(lambda t: fired.append(1))
    (a * 2).sum().backward()
    assert fired == []


def test_bad_registrations_raise():
    x = tinydl.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="require gradient"):
        tinydl.Tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)


def test_a_hook_returning_a_value_raises():
    # PyTorch: "Tensor post accumulate grad hooks should return None."
    x = tinydl.Tensor([1.0], requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: 1)
    with pytest.raises(RuntimeError, match="return None"):
        x.sum().backward()
