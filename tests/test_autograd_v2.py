"""Autograd v2: create_graph, autograd.grad, version counters and in-place ops, custom Functions,
hooks, graph inspection, autograd.functional, per-thread grad mode."""
import gc
import threading
import weakref

import numpy as np
import pytest

import tinydl as td
from tinydl import autograd
from tinydl.autograd import Function, once_differentiable
from tinydl.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp
from tinydl.testing import GradcheckError, gradcheck, gradgradcheck


def leaf(values, dtype=np.float64):
    return td.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------------------------- create_graph
def test_backward_create_graph_gives_differentiable_grad():
    x = leaf([1.0, -2.0, 0.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.detach().numpy(), 3 * x.detach().numpy() ** 2)
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 6 * x.detach().numpy())


def test_third_order_derivative():
    x = leaf([0.3, -1.2])
    y = td.tanh(x)
    g1, = autograd.grad(y.sum(), x, create_graph=True)
    g2, = autograd.grad(g1.sum(), x, create_graph=True)
    g3, = autograd.grad(g2.sum(), x)
    t = np.tanh(x.detach().numpy())
    np.testing.assert_allclose(g1.detach().numpy(), 1 - t ** 2)
    np.testing.assert_allclose(g2.detach().numpy(), -2 * t * (1 - t ** 2))
    np.testing.assert_allclose(g3.detach().numpy(), -2 * (1 - t ** 2) ** 2 + 4 * t ** 2 * (1 - t ** 2))


def test_deep_chain_double_backward_is_iterative():
    x = leaf([0.5])
    y = x
    for _ in range(3000):
        y = y * 1.0001
    g, = autograd.grad(y.sum(), x, create_graph=True)
    gg, = autograd.grad((g * x).sum(), x)
    np.testing.assert_allclose(gg.detach().numpy(), [1.0001 ** 3000], rtol=1e-9)


# ---------------------------------------------------------------------------------- autograd.grad
def test_grad_does_not_touch_dot_grad_and_returns_tuple():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.detach().numpy(), [3, 4])
    np.testing.assert_allclose(gw.detach().numpy(), [1, 2])
    assert x.grad is None and w.grad is None


def test_grad_allow_unused_and_materialize():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2
    _, gz = autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    np.testing.assert_array_equal(gz.detach().numpy(), [0.0])
    with pytest.raises(ValueError, match="materialize_grads"):
        autograd.grad((x * 2).sum(), [x], allow_unused=False, materialize_grads=True)


def test_grad_non_scalar_outputs_need_grad_outputs():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        autograd.grad(y, x)
    v = td.Tensor(np.array([1.0, 0.5, -1.0]))
    g, = autograd.grad(y, x, grad_outputs=v)
    np.testing.assert_allclose(g.detach().numpy(), 2 * x.detach().numpy() * v.detach().numpy())
    with pytest.raises(ValueError, match="shape"):
        autograd.grad(x * x, x, grad_outputs=td.Tensor(np.ones(2)))


def test_grad_same_input_twice_and_hooks_under_create_graph():
    x = leaf([1.0, 2.0])
    h = x * 1
    g1, g2, gh1, gh2 = autograd.grad((h * x).sum(), [x, x, h, h])
    for a, b in ((g1, g2), (gh1, gh2)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_allclose(g1.detach().numpy(), 2 * x.detach().numpy())  # directly and through h
    np.testing.assert_allclose(gh1.detach().numpy(), x.detach().numpy())
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad))
    (x ** 3).sum().backward(create_graph=True)
    assert seen == [True] and x.grad.requires_grad


def test_grad_several_outputs_sum_their_vjps():
    x = leaf([1.0, 2.0])
    a, b = (x * x).sum(), (3 * x).sum()
    g, = autograd.grad([a, b], x)
    np.testing.assert_allclose(g.detach().numpy(), 2 * x.detach().numpy() + 3)


def test_grad_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    g1, = autograd.grad(y, x, retain_graph=True)
    g2, = autograd.grad(y, x)
    np.testing.assert_allclose(g1.detach().numpy(), g2.detach().numpy())
    with pytest.raises(RuntimeError, match="already freed"):
        autograd.grad(y, x)


def test_grad_of_a_non_leaf_and_errors():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    gh, = autograd.grad(y, h)
    np.testing.assert_allclose(gh.detach().numpy(), 2 * h.detach().numpy())
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad((x * 2).sum(), td.Tensor([1.0]))
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad(td.Tensor([1.0]).sum(), x)


def test_backward_inputs_accumulates_only_there():
    x, w = leaf([1.0]), leaf([2.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.item() == 1.0
    y = x * w
    y.retain_grad()
    (y * y).sum().backward(inputs=[y])
    assert y.grad.item() == pytest.approx(2 * 2.0) and x.grad is None


def test_autograd_backward_several_roots():
    x = leaf([1.0, 2.0])
    autograd.backward([(x * x).sum(), (x * 2).sum()])
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * x.detach().numpy() + 2)


# ------------------------------------------------------------------------- version counters
def _inplace_cases():
    mask = td.Tensor(np.array([True, False, True]))
    return {
        "add_": lambda y: y.add_(1.0), "sub_": lambda y: y.sub_(1.0), "mul_": lambda y: y.mul_(2.0),
        "div_": lambda y: y.div_(2.0), "pow_": lambda y: y.pow_(2.0), "zero_": lambda y: y.zero_(),
        "fill_": lambda y: y.fill_(3.0), "clamp_": lambda y: y.clamp_(0.0, 1.0),
        "copy_": lambda y: y.copy_(td.Tensor(np.zeros(3))), "normal_": lambda y: y.normal_(),
        "uniform_": lambda y: y.uniform_(), "masked_fill_": lambda y: y.masked_fill_(mask, 0.0),
        "__setitem__": lambda y: y.__setitem__(0, 5.0), "+=": lambda y: y.__iadd__(1.0),
        "-=": lambda y: y.__isub__(1.0), "*=": lambda y: y.__imul__(2.0), "/=": lambda y: y.__itruediv__(2.0),
        "**=": lambda y: y.__ipow__(2.0),
    }


@pytest.mark.parametrize("name", sorted(_inplace_cases()))
def test_inplace_after_save_raises_naming_op_and_tensor(name):
    x = leaf([0.5, 1.0, 2.0])
    y = x.exp()  # ExpBackward saves its output y
    z = (y * y).sum()
    v0 = y._version
    _inplace_cases()[name](y)
    assert y._version == v0 + 1
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation: (output 0 of ExpBackward|input \d of "
                                           r"MulBackward).*is at version 1; expected version 0"):
        z.backward()


@pytest.mark.parametrize("name", sorted(_inplace_cases()))
def test_inplace_on_leaf_requiring_grad_raises_unless_no_grad(name):
    p = leaf([0.5, 1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad .* in-place"):
        _inplace_cases()[name](p)
    before = p.detach().numpy().copy()
    with td.no_grad():
        _inplace_cases()[name](p)
    assert p._version == 1 and p.requires_grad and p.is_leaf
    assert not np.array_equal(p.detach().numpy(), before) or name in ("clamp_",)


def test_motivating_examples_from_the_issue():
    x = leaf([0.5, -1.0])
    y = td.exp(x)
    z = (y * y).sum()
    y.copy_(td.zeros(2, dtype=np.float64))
    with pytest.raises(RuntimeError, match="in-place"):
        z.backward()
    # the first training loop every PyTorch learner writes
    model = td.nn.Linear(3, 1)
    params = list(model.parameters())
    before = [p.detach().numpy().copy() for p in params]
    loss = (model(td.Tensor(np.ones((4, 3), np.float32))) ** 2).mean()
    loss.backward()
    with td.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, params))


def test_optimizer_step_between_forward_and_backward_raises():
    model = td.nn.Linear(3, 2)
    opt = td.optim.SGD(model.parameters(), lr=0.1)
    x = td.Tensor(np.ones((2, 3), np.float32))
    (model(x) ** 2).sum().backward()
    loss = (model(x) ** 2).sum()  # saves the weights
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_inplace_on_non_leaf_is_differentiable_and_rebases_grad_fn():
    x = leaf([1.0, 2.0])
    y = x * 3
    assert y.grad_fn.name() == "MulBackward"
    y += x * x
    assert y.grad_fn.name() == "AddBackward" and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 3 + 2 * x.detach().numpy())
    z = td.zeros(2, dtype=np.float64)  # does not require grad; becomes part of the graph
    z[1] = x[0] * 5
    assert z.requires_grad
    x.grad = None
    z.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [5.0, 0.0])


def test_inplace_on_view_of_graph_tensor_is_not_supported():
    y = leaf([1.0, 2.0, 3.0]) * 2
    with pytest.raises(NotImplementedError, match="view"):
        y[1:].add_(1.0)


def test_inplace_errors_for_shape_and_dtype():
    t = td.Tensor(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="can't be cast"):
        t.div_(2)
    with pytest.raises(RuntimeError, match="doesn't broadcast|doesn't match"):
        td.Tensor(np.zeros(3)).add_(td.Tensor(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="boolean"):
        td.Tensor(np.zeros(3)).masked_fill_(td.Tensor(np.array([1, 0, 1])), 1.0)
    w = td.Tensor(np.zeros(3, np.float32))
    w.copy_(np.arange(3))  # copy_ converts like PyTorch's
    np.testing.assert_array_equal(w.detach().numpy(), [0, 1, 2])


def test_detach_shares_version_counter_and_views_share_it():
    x = td.Tensor(np.zeros(4))
    d = x.detach()
    d.add_(1.0)
    assert x._version == 1 and x.detach().numpy()[0] == 1.0
    v = x[1:]
    v.mul_(2.0)
    assert x._version == 2 and x.detach().numpy()[1] == 2.0


# --------------------------------------------------------------------------------- custom Function
class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale=1.0):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


def test_custom_function_first_and_second_order():
    x = np.array([0.5, -1.5, 2.0])
    gradcheck(lambda t: Cube.apply(t, 2.0), x)
    gradgradcheck(lambda t: Cube.apply(t, 2.0), x)
    t = leaf(x)
    y = Cube.apply(t)
    assert y.grad_fn.name() == "CubeBackward" and type(y.grad_fn) is Cube


class SplitSigns(Function):
    """Two outputs, one saved output, needs_input_grad, a non-differentiable output."""

    @staticmethod
    def forward(ctx, x, w):
        pos = x.clamp(0.0) * w
        neg = x.clamp(None, 0.0) * w
        mask = td.Tensor(x.detach().numpy() > 0)
        ctx.mark_non_differentiable(mask)
        ctx.save_for_backward(x, w, pos)
        ctx.seen_needs = ctx.needs_input_grad
        return pos, neg, mask

    @staticmethod
    def backward(ctx, gpos, gneg, gmask):
        x, w, pos = ctx.saved_tensors
        assert gmask is not None  # materialized as zeros by default
        xpos = td.Tensor(x.detach().numpy() > 0)
        gx = (gpos * xpos + gneg * (1 - xpos)) * w if ctx.needs_input_grad[0] else None
        gw = (gpos * pos / w + gneg * x.clamp(None, 0.0)) if ctx.needs_input_grad[1] else None
        return gx, gw


def test_custom_function_several_outputs():
    x = leaf([1.0, -2.0, 3.0])
    w = td.Tensor(np.array([2.0, 2.0, 2.0]))
    pos, neg, mask = SplitSigns.apply(x, w)
    assert not mask.requires_grad and pos.requires_grad and pos.grad_fn is neg.grad_fn
    assert pos.grad_fn.needs_input_grad == (True, False)
    (pos.sum() * 2 + neg.sum()).backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [4.0, 2.0, 4.0])
    gradcheck(lambda a, b: SplitSigns.apply(a, b)[0] + SplitSigns.apply(a, b)[1] * 3,
              np.array([1.0, -2.0, 3.0]), np.array([1.5, 0.5, 2.0]))


def test_custom_function_materialize_and_wrong_count():
    class Pair(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            assert gb is None
            return ga * 2

    x = leaf([1.0])
    a, b = Pair.apply(x)
    a.sum().backward()
    assert x.grad.item() == 2.0

    class Wrong(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="incorrect number of gradients .expected 2, got 1"):
        Wrong.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_custom_function_saved_tensor_version_check():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = Cube.apply(h)
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="input 0 of CubeBackward"):
        y.sum().backward()


def test_once_differentiable_custom_function_raises_on_double_backward():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g

    x = leaf([3.0])
    g, = autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.item() == 6.0
    with pytest.raises(RuntimeError, match="Square: the op's backward is not differentiable"):
        g.sum().backward()


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class BadSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * (x.detach() * 2)  # right first derivative, detached: no second

    gradcheck(BadSquare.apply, np.array([1.0, 2.0]))
    with pytest.raises(GradcheckError, match=r"gradgradcheck failed for input 0 \(shape \(2,\)\) at index "
                                             r"\(\d,\): analytic .* vs numeric"):
        gradgradcheck(BadSquare.apply, np.array([1.0, 2.0]))


def test_once_differentiable_builtin_op_names_itself():
    layer = td.nn.LSTM(2, 3)
    seq = td.Tensor(np.random.default_rng(0).standard_normal((4, 2, 2)), requires_grad=True)
    out = layer(seq)
    out = out[0] if isinstance(out, tuple) else out
    g, = autograd.grad(out.sum(), seq, create_graph=True)  # first order is fine
    with pytest.raises(RuntimeError, match="LSTMScan: the op's backward is not differentiable"):
        g.sum().backward()


# ---------------------------------------------------------------------------------- hooks
def test_register_hook_on_leaf_and_non_leaf_and_remove():
    x = leaf([1.0, 2.0])
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    h2 = x.register_hook(lambda g: g * 10)
    y = x * 2
    hy = y.register_hook(lambda g: g + 1)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [4.0, 4.0])   # (1 + 1) * 2
    np.testing.assert_allclose(x.grad.detach().numpy(), [40.0, 40.0])
    for h in (h1, h2, hy):
        h.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        td.Tensor([1.0]).register_hook(lambda g: g)


def test_post_accumulate_grad_hook():
    w = leaf([1.0, 2.0])
    calls = []

    def hook(t):
        calls.append(t.grad.detach().numpy().copy())  # called once, with the whole accumulated gradient

    handle = w.register_post_accumulate_grad_hook(hook)
    ((w * w).sum() + (w * 3).sum()).backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], 2 * w.detach().numpy() + 3)
    (w * 1).sum().backward()
    np.testing.assert_allclose(calls[1], 2 * w.detach().numpy() + 4)  # accumulated
    handle.remove()
    (w * 1).sum().backward()
    assert len(calls) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(hook)


def test_retain_grad_and_graph_inspection():
    x = leaf([1.0, 2.0])
    w = td.Tensor(np.array([3.0, 4.0]))
    y = x * w
    assert y.grad_fn.name() == "MulBackward" and x.is_leaf and not y.is_leaf and w.is_leaf
    (fx, _), (fw, _) = y.grad_fn.next_functions
    assert fx.name() == "AccumulateGrad" and fx.variable is x and fw is None
    assert y.grad_fn.next_functions[0][0] is fx  # the same node each time
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.detach().numpy(), 2 * y.detach().numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d._version == y._version
    y.detach_()
    assert y.is_leaf and not y.requires_grad
    assert "grad_fn=<MulBackward>" in repr(x * w)


def test_function_does_not_hold_its_output():
    x = leaf([1.0, 2.0])
    y = x.exp()  # saves its output
    node = y.grad_fn
    ref = weakref.ref(y)
    gc.disable()
    try:
        del y
        assert ref() is None  # freed by reference counting: no cycle through the node
    finally:
        gc.enable()
    assert node.saved_tensors[0].shape == (2,)


# ---------------------------------------------------------------------------- functional
def _f(x):
    return x[0] ** 2 * x[1] + td.exp(x[1]) * x[2]


def test_jacobian_hessian_and_products():
    x = td.Tensor(np.array([0.5, -1.0, 2.0]))
    a, b, c = x.detach().numpy()
    H = np.array([[2 * b, 2 * a, 0], [2 * a, np.exp(b) * c, np.exp(b)], [0, np.exp(b), 0]])
    np.testing.assert_allclose(hessian(_f, x).detach().numpy(), H, rtol=1e-12)
    v = td.Tensor(np.array([1.0, -2.0, 0.5]))
    for fn in (hvp, vhp):
        out, hv = fn(_f, x, v)
        np.testing.assert_allclose(hv.detach().numpy(), H @ v.detach().numpy(), rtol=1e-12)
        assert not hv.requires_grad
    grad = np.array([2 * a * b, a * a + np.exp(b) * c, np.exp(b)])
    out, g = vjp(_f, x)
    np.testing.assert_allclose(g.detach().numpy(), grad)

    def vec(x, y):
        return td.stack([x[0] * y, x[1] ** 3 * y])

    xs = (td.Tensor(np.array([1.0, 2.0])), td.Tensor(np.array(3.0)))
    jx, jy = jacobian(vec, xs)
    np.testing.assert_allclose(jx.detach().numpy(), [[3.0, 0.0], [0.0, 3 * 4 * 3.0]])
    np.testing.assert_allclose(jy.detach().numpy(), [1.0, 8.0])
    out, jv = jvp(vec, xs, (td.Tensor(np.array([1.0, 1.0])), td.Tensor(np.array(2.0))))
    np.testing.assert_allclose(jv.detach().numpy(), jx.detach().numpy() @ [1.0, 1.0] + jy.detach().numpy() * 2.0)
    with pytest.raises(NotImplementedError, match="vectorize"):
        jacobian(vec, xs, vectorize=True)


def test_functional_create_graph_stays_differentiable():
    x = leaf([0.5, 1.5])
    _, hv = hvp(lambda t: (t ** 4).sum(), x, td.Tensor(np.ones(2)), create_graph=True)
    hv.sum().backward()  # d/dx sum(12 x^2) = 24 x
    np.testing.assert_allclose(x.grad.detach().numpy(), 24 * x.detach().numpy())


# ---------------------------------------------------------------------------------- threads
def test_grad_mode_is_per_thread_while_another_thread_trains():
    """Overlapping no_grad() blocks and a background keras predict() in other threads never turn
    off recording in the training thread: its weights keep being updated."""
    keras = td.keras
    td.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.predict(x[:2], verbose=0)
    start = [w.copy() for w in model.get_weights()]
    stop = threading.Event()
    errors = []
    flips = [0]

    def toggler():
        try:
            while not stop.is_set():
                with td.no_grad():
                    assert not td.is_grad_enabled()
                    with td.enable_grad():
                        with td.no_grad():
                            flips[0] += 1
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def predictor():
        try:
            while not stop.is_set():
                model.predict(x, verbose=0)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=toggler) for _ in range(2)] + [threading.Thread(target=predictor)]
    for t in threads:
        t.start()
    try:
        losses = []
        for _ in range(30):
            assert td.is_grad_enabled()
            losses.append(float(model.train_on_batch(x, y)))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert flips[0] > 0
    assert all(not np.array_equal(a, b) for a, b in zip(start, model.get_weights()))
    assert losses[-1] < losses[0]


def test_new_threads_start_with_grad_on():
    seen = []
    with td.no_grad():
        t = threading.Thread(target=lambda: seen.append(td.is_grad_enabled()))
        t.start()
        t.join()
        assert not td.is_grad_enabled()
    assert seen == [True]


def test_no_grad_decorator_reentrant():
    @td.no_grad()
    def f(n):
        assert not td.is_grad_enabled()
        return n if n == 0 else f(n - 1)

    f(3)
    assert td.is_grad_enabled()
    with td.set_grad_enabled(False):
        assert not td.is_grad_enabled()
    assert td.is_grad_enabled()
