"""tinydl.optim and tinydl.nn.regularizers: updates against hand-iterated formulas, schedules,
clipping, saving/loading, and an end-to-end fit with each optimizer."""
import doctest
import importlib
import io
import json
import math

import numpy as np
import pytest

import tinydl as td
from tinydl import Tensor
from tinydl.optim import (SGD, Adam, AdamW, RMSprop, StepLR, ExponentialLR, CosineAnnealingLR,
                          ReduceLROnPlateau, ExponentialDecay, CosineDecay, PiecewiseConstantDecay,
                          clip_grad_norm_, clip_grad_value_)
from tinydl.nn import regularizers
from tinydl.testing import gradcheck

# f(p) = 0.5 * sum(A * p^2), so grad f = A * p
A = np.array([1.0, 2.0, 0.5, 4.0])
P0 = np.array([1.0, -2.0, 3.0, 0.5])
STEPS = 6


def quadratic_steps(make_opt, dtype=np.float64, steps=STEPS):
    """Run ``steps`` optimizer steps on the quadratic, gradients from autograd; return (p, opt)."""
    p = Tensor(P0.astype(dtype), requires_grad=True)
    a = Tensor(A.astype(dtype))
    opt = make_opt([p])
    data_id = id(p.data)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (a * p * p).sum()).backward()
        opt.step()
    assert id(p.data) == data_id, "the update must be in place"
    return p, opt


# ---- plain reference implementations (float64, written out step by step) -----------------------

def ref_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, steps=STEPS):
    p, v = P0.copy(), np.zeros_like(P0)
    for _ in range(steps):
        g = A * p + weight_decay * p
        if momentum:
            v = momentum * v + g
            g = g + momentum * v if nesterov else v
        p = p - lr * g
    return p


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False, steps=STEPS):
    p, m, v, vmax = P0.copy(), np.zeros_like(P0), np.zeros_like(P0), np.zeros_like(P0)
    for t in range(1, steps + 1):
        g = A * p
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0, steps=STEPS):
    p, s, gavg, buf = P0.copy(), np.zeros_like(P0), np.zeros_like(P0), np.zeros_like(P0)
    for _ in range(steps):
        g = A * p + weight_decay * p
        s = alpha * s + (1 - alpha) * g ** 2
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            denom = np.sqrt(s - gavg ** 2) + eps
        else:
            denom = np.sqrt(s) + eps
        if momentum:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
    return p


CASES = {
    "sgd": (lambda ps: SGD(ps, lr=0.1), lambda: ref_sgd(0.1)),
    "sgd-momentum": (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda: ref_sgd(0.1, 0.9)),
    "sgd-nesterov": (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True), lambda: ref_sgd(0.1, 0.9, True)),
    "sgd-wd": (lambda ps: SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.1),
               lambda: ref_sgd(0.1, 0.5, weight_decay=0.1)),
    "adam": (lambda ps: Adam(ps, lr=0.1), lambda: ref_adam(0.1)),
    "adam-betas-eps": (lambda ps: Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-3),
                       lambda: ref_adam(0.05, 0.8, 0.99, 1e-3)),
    "adam-wd": (lambda ps: Adam(ps, lr=0.1, weight_decay=0.5), lambda: ref_adam(0.1, weight_decay=0.5)),
    "adam-amsgrad": (lambda ps: Adam(ps, lr=0.3, amsgrad=True), lambda: ref_adam(0.3, amsgrad=True)),
    "adamw": (lambda ps: AdamW(ps, lr=0.1, weight_decay=0.2),
              lambda: ref_adam(0.1, weight_decay=0.2, decoupled=True)),
    "rmsprop": (lambda ps: RMSprop(ps, lr=0.01), lambda: ref_rmsprop(0.01)),
    "rmsprop-centered": (lambda ps: RMSprop(ps, lr=0.01, centered=True), lambda: ref_rmsprop(0.01, centered=True)),
    "rmsprop-momentum": (lambda ps: RMSprop(ps, lr=0.01, momentum=0.9, alpha=0.9),
                         lambda: ref_rmsprop(0.01, alpha=0.9, momentum=0.9)),
    "rmsprop-all": (lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
                    lambda: ref_rmsprop(0.01, momentum=0.5, centered=True, weight_decay=0.1)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_update_matches_formula_float64(case):
    make, ref = CASES[case]
    p, _ = quadratic_steps(make, np.float64)
    np.testing.assert_allclose(p.detach().numpy(), ref(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("case", list(CASES))
def test_float32_params_stay_float32(case):
    make, ref = CASES[case]
    p, opt = quadratic_steps(make, np.float32)
    assert p.dtype == np.float32
    for state in opt.state.values():
        for name, value in state.items():
            assert not hasattr(value, "dtype") or value.dtype == np.float32, name
    np.testing.assert_allclose(p.detach().numpy(), ref(), rtol=1e-4, atol=1e-5)


def test_float32_stays_float32_with_schedule_and_clipping():
    p, _ = quadratic_steps(lambda ps: Adam(ps, lr=ExponentialDecay(0.1, 2, 0.5), clipnorm=0.5, clipvalue=0.1),
                           np.float32)
    assert p.dtype == np.float32


def test_skips_params_without_grad():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.tolist() == [3.0] and not opt.state.get(b)
    assert a.tolist() != [1.0, 2.0]


def test_zero_grad_sets_none():
    a = Tensor([1.0], requires_grad=True)
    opt = SGD([a])
    (a * a).sum().backward()
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_have_their_own_settings():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0]), requires_grad=True)
    opt = SGD([{"params": [a], "lr": 0.5}, {"params": [b], "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    for _ in range(2):
        opt.zero_grad()
        (a.sum() + b.sum()).backward()  # every grad is 1
        opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [1.0 - 2 * 0.5, 2.0 - 2 * 0.5])
    np.testing.assert_allclose(b.detach().numpy(), [3.0 - 0.1 * 1 - 0.1 * 1.9])
    opt.lr = 0.01  # the setter reaches every group
    assert opt.lr == 0.01 and [g["lr"] for g in opt.param_groups] == [0.01, 0.01]


def test_bad_params_are_rejected():
    a = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        SGD([])
    with pytest.raises(ValueError, match="more than one"):
        SGD([{"params": [a]}, {"params": [a]}])
    # as in PyTorch, extra keys in a group are kept (e.g. a name for logging)
    assert SGD([{"params": [a], "name": "head"}]).param_groups[0]["name"] == "head"
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({a})
    with pytest.raises(TypeError, match="Tensors"):
        SGD([np.zeros(2)])
    with pytest.raises(ValueError, match="lr"):
        Adam([a], lr=-1.0)


# ---- clipping -------------------------------------------------------------------------------------

def _with_grads(*grads):
    params = []
    for g in grads:
        p = Tensor(np.zeros_like(np.asarray(g, dtype=np.float64)), requires_grad=True)
        p.grad = Tensor(np.asarray(g, dtype=np.float64))
        params.append(p)
    return params


def test_clip_grad_norm_global_and_in_place():
    a, b, c = _with_grads([3.0, 0.0], [[4.0]], [0.0])
    c.grad = None  # skipped
    norm = clip_grad_norm_([a, b, c], max_norm=1.0)
    assert norm == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.detach().numpy(), [3.0 * coef, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.detach().numpy(), [[4.0 * coef]], rtol=1e-15)
    # under the limit: untouched; the inf-norm is the largest |g|
    assert clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(a.grad.detach().numpy(), [3.0 * coef, 0.0], rtol=1e-15)
    assert clip_grad_norm_(_with_grads([1.0, -7.0]), 100.0, norm_type=math.inf) == 7.0


def test_clip_grad_value():
    (a,) = _with_grads([-3.0, 0.2, 5.0])
    clip_grad_value_([a], 1.0)
    assert a.grad.tolist() == [-1.0, 0.2, 1.0]


def test_optimizer_clipnorm_and_clipvalue_leave_grads_alone():
    a, b = _with_grads([3.0], [4.0])
    SGD([a, b], lr=1.0, clipnorm=1.0).step()  # p = -clipped grad
    np.testing.assert_allclose([a.item(), b.item()], [-3.0 / (5 + 1e-6), -4.0 / (5 + 1e-6)], rtol=1e-12)
    assert [a.grad.item(), b.grad.item()] == [3.0, 4.0]
    (c,) = _with_grads([-3.0, 0.5, 2.0])
    SGD([c], lr=1.0, clipvalue=1.0).step()
    assert c.tolist() == [1.0, -0.5, -1.0]
    (d,) = _with_grads([3.0, 4.0])  # norm first (to 1), then value (no effect at 0.9)
    SGD([d], lr=1.0, clipnorm=1.0, clipvalue=0.7).step()
    np.testing.assert_allclose(d.detach().numpy(), [-0.6 / (1 + 2e-7), -0.7], rtol=1e-6)


# ---- schedules ------------------------------------------------------------------------------------

def _opt(*lrs):
    return SGD([{"params": [Tensor([0.0], requires_grad=True)], "lr": lr} for lr in lrs])


def _sequence(sched, opt, n=8):
    lrs = [opt.lr]
    for _ in range(n):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


def test_step_lr():
    opt = _opt(1.0, 0.1)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    np.testing.assert_allclose(_sequence(sched, opt), [1, 1, 1, .5, .5, .5, .25, .25, .25])
    assert sched.get_last_lr() == pytest.approx([0.25, 0.025])


def test_exponential_lr():
    opt = _opt(2.0)
    np.testing.assert_allclose(_sequence(ExponentialLR(opt, gamma=0.9), opt), [2.0 * 0.9 ** e for e in range(9)])


def test_cosine_annealing_lr():
    opt = _opt(1.0)
    got = _sequence(CosineAnnealingLR(opt, T_max=4, eta_min=0.1), opt)
    want = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)]
    np.testing.assert_allclose(got, want)
    assert got[4] == pytest.approx(0.1) and got[8] == pytest.approx(1.0)


def test_reduce_on_plateau_patience_and_cooldown():
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    lrs = []
    for metric in [10, 9, 9, 9, 9, 9, 9, 9, 9]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    # epoch 5: 3 bad epochs > patience 2 -> halve; epoch 6 is cooldown; 7, 8, 9 bad -> halve again
    assert lrs == [1, 1, 1, 1, .5, .5, .5, .5, .25]


def test_reduce_on_plateau_max_mode_threshold_and_min_lr():
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.1, min_lr=0.05)
    lrs = []
    for metric in [1.0, 1.05, 1.2, 1.2]:  # 1.05 is within the 10% threshold: not an improvement
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.05])


def test_keras_style_schedules():
    ed = ExponentialDecay(1.0, decay_steps=4, decay_rate=0.5)
    assert [ed(s) for s in (0, 2, 4, 8)] == pytest.approx([1.0, 0.5 ** 0.5, 0.5, 0.25])
    st = ExponentialDecay(1.0, decay_steps=4, decay_rate=0.5, staircase=True)
    assert [st(s) for s in (0, 3, 4, 7, 8)] == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25])
    cd = CosineDecay(2.0, decay_steps=10, alpha=0.1)
    assert [cd(s) for s in (0, 5, 10, 20)] == pytest.approx([2.0, 2.0 * (0.9 * 0.5 + 0.1), 0.2, 0.2])
    pc = PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [pc(s) for s in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError):
        PiecewiseConstantDecay([2, 5], [1.0, 0.5])


def test_optimizer_evaluates_a_callable_lr_at_its_iteration():
    (p,) = _with_grads([1.0])
    opt = SGD([p], lr=PiecewiseConstantDecay([1], [1.0, 0.1]))
    seen = []
    for _ in range(4):
        seen.append(opt.lr)
        opt.step()
    assert seen == [1.0, 1.0, 0.1, 0.1]  # lr(0), lr(1), lr(2), lr(3)
    assert p.item() == pytest.approx(-2.2)
    with pytest.raises(TypeError, match="schedule"):
        StepLR(opt, step_size=1)


def test_scheduler_state_dict_round_trip():
    opt = _opt(1.0)
    sched = StepLR(opt, step_size=2)
    for _ in range(3):
        sched.step()
    opt2 = _opt(1.0)
    sched2 = StepLR(opt2, step_size=5)
    sched2.load_state_dict(json.loads(json.dumps(sched.state_dict())))
    opt2.load_state_dict(opt.state_dict())
    sched.step(), sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == pytest.approx([0.01])
    plateau = ReduceLROnPlateau(opt, patience=1)
    plateau.step(3.0), plateau.step(4.0)
    plateau2 = ReduceLROnPlateau(opt2)
    plateau2.load_state_dict(json.loads(json.dumps(plateau.state_dict())))
    assert plateau2.state_dict() == plateau.state_dict()


# ---- saving and loading optimizer state -------------------------------------------------------------

def _to_npz_and_back(sd):
    """Save as .npz (no pickle): state Tensors as arrays under their own keys, everything else as
    JSON (whose keys come back as strings, which load_state_dict accepts)."""
    arrays, state = {}, {}
    for i, s in sd["state"].items():
        entry = {}
        for k, v in s.items():
            if isinstance(v, Tensor):
                arrays[f"{i}/{k}"] = v.numpy()
            else:
                assert isinstance(v, (int, float, str, bool)), (k, type(v))
                entry[k] = v
        state[i] = entry
    meta = json.dumps({**sd, "state": state})  # fails if anything is not JSON-able
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    loaded = np.load(buf, allow_pickle=False)
    out = json.loads(meta)
    for key in loaded.files:
        i, k = key.split("/")
        out["state"][i][k] = loaded[key]
    return out


ROUND_TRIP = {
    "sgd-nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam-amsgrad": lambda ps: Adam(ps, lr=0.05, amsgrad=True, clipnorm=2.0),
    "adamw-schedule": lambda ps: AdamW(ps, lr=CosineDecay(0.05, 10)),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("case", list(ROUND_TRIP))
def test_state_dict_round_trip_is_bit_exact(case):
    make = ROUND_TRIP[case]
    rng = np.random.default_rng(0)
    w0, b0 = rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    x = Tensor(rng.standard_normal((5, 3)).astype(np.float32))

    def train(params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((x @ params[0] + params[1]) ** 2).mean().backward()
            opt.step()

    straight = [Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)]
    opt = make(straight)
    train(straight, opt, 3)
    sd = opt.state_dict()
    saved_params = [p.detach().numpy().copy() for p in straight]
    saved = _to_npz_and_back(sd)
    snapshot = {k: v.numpy().copy() for k, v in sd["state"][0].items() if isinstance(v, Tensor)}
    train(straight, opt, 2)  # the uninterrupted run
    for k, v in snapshot.items():  # the state dict holds copies, not views of live buffers
        assert np.array_equal(sd["state"][0][k].numpy(), v)

    resumed = [Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)]
    opt2 = make(resumed)
    train(resumed, opt2, 1)  # some other state to be replaced by the load
    with td.no_grad():  # an in-place change of a leaf that requires grad (PyTorch's rule)
        for p, saved_p in zip(resumed, saved_params):
            p.copy_(saved_p)
    opt2.load_state_dict(saved)
    # the step counter is state only for a callable lr (PyTorch's layout has no such entry)
    assert opt2.iterations == (3 if case.endswith("schedule") else 1)
    train(resumed, opt2, 2)
    for p, q in zip(resumed, straight):
        assert p.dtype == np.float32
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_rejects_mismatches():
    a, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    opt = Adam([a, b])
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()

    wrong_shape = Adam([Tensor(np.ones((3, 2)), requires_grad=True), Tensor(np.ones(3), requires_grad=True)])
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(2, 3\) but the parameter has shape \(3, 2\)"):
        wrong_shape.load_state_dict(sd)
    assert wrong_shape.iterations == 0 and wrong_shape.state == {}  # nothing changed
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)


def test_state_dict_restores_group_settings():
    a = Tensor([1.0], requires_grad=True)
    opt = SGD([a], lr=0.1, momentum=0.9)
    opt.lr = 0.02
    opt2 = SGD([Tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    opt2.load_state_dict(json.loads(json.dumps(opt.state_dict())))
    assert opt2.lr == 0.02


# ---- regularizers -----------------------------------------------------------------------------------

X = np.array([[0.5, -1.5], [2.0, -0.25]])


def test_regularizer_values():
    assert regularizers.L1(0.1)(Tensor(X)).item() == pytest.approx(0.1 * np.abs(X).sum())
    assert regularizers.L2(0.2)(Tensor(X)).item() == pytest.approx(0.2 * (X ** 2).sum())
    both = regularizers.L1L2(l1=0.1, l2=0.2)(Tensor(X)).item()
    assert both == pytest.approx(0.1 * np.abs(X).sum() + 0.2 * (X ** 2).sum())
    zero = regularizers.L1L2()(Tensor(X.astype(np.float32)))
    assert zero.shape == () and zero.item() == 0.0 and zero.dtype == np.float32
    assert regularizers.L2()(Tensor(X.astype(np.float32))).dtype == np.float32


@pytest.mark.parametrize("reg", [regularizers.L1(0.3), regularizers.L2(0.7), regularizers.L1L2(0.3, 0.7)])
def test_regularizer_gradients(reg):
    assert gradcheck(lambda x: reg(x), X)  # X has no zeros, where |x| has no derivative


def test_regularizer_backprops_into_the_loss():
    w = Tensor(X, requires_grad=True)
    regularizers.L1L2(l1=0.1, l2=0.5)(w).backward()
    np.testing.assert_allclose(w.grad.detach().numpy(), 0.1 * np.sign(X) + 2 * 0.5 * X)


def test_regularizer_get():
    assert regularizers.get(None) is None
    assert isinstance(regularizers.get("l1"), regularizers.L1) and regularizers.get("l1").l1 == 0.01
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    l1l2 = regularizers.get("l1_l2")
    assert (l1l2.l1, l1l2.l2) == (0.01, 0.01)
    fn = lambda x: x.sum()  # noqa: E731
    assert regularizers.get(fn) is fn
    cfg = regularizers.get({"class_name": "L2", "config": regularizers.L2(0.3).get_config()})
    assert cfg.l2 == 0.3
    with pytest.raises(ValueError, match="unknown regularizer"):
        regularizers.get("l3")
    with pytest.raises(ValueError):
        regularizers.L2(-1.0)


# ---- end to end -------------------------------------------------------------------------------------

FITTERS = {
    "sgd": (lambda ps: SGD(ps, lr=0.1), 300),
    "sgd-nesterov": (lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True), 200),
    "adam": (lambda ps: Adam(ps, lr=0.05), 400),
    "adam-amsgrad": (lambda ps: Adam(ps, lr=0.05, amsgrad=True), 400),
    "adamw": (lambda ps: AdamW(ps, lr=0.05, weight_decay=1e-4), 400),
    "rmsprop": (lambda ps: RMSprop(ps, lr=0.01, centered=True, momentum=0.5), 400),
    "adam-cosine": (lambda ps: Adam(ps, lr=CosineDecay(0.1, 400, alpha=0.01)), 400),
}


@pytest.mark.parametrize("case", list(FITTERS))
def test_linear_regression_converges(case):
    make, steps = FITTERS[case]
    rng = np.random.default_rng(1)
    X_ = rng.standard_normal((64, 3)).astype(np.float32)
    w_true, b_true = np.array([1.5, -2.0, 0.5], np.float32), 0.75
    y = Tensor(X_ @ w_true + b_true + 0.01 * rng.standard_normal(64).astype(np.float32))
    x = Tensor(X_)
    w, b = Tensor(np.zeros(3, np.float32), requires_grad=True), Tensor(np.float32(0.0), requires_grad=True)
    opt = make([w, b])
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=5) if not callable(opt.param_groups[0]["lr"]) else None
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step(loss.item())
    np.testing.assert_allclose(w.detach().numpy(), w_true, atol=0.02)
    assert b.item() == pytest.approx(b_true, abs=0.02)


@pytest.mark.parametrize("make", [lambda ps: Adam(ps, lr=0.02), lambda ps: SGD(ps, lr=1e-3, momentum=0.9)])
def test_rosenbrock(make):
    p = Tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = make([p])
    for _ in range(3000):
        opt.zero_grad()
        x, y = p[0], p[1]
        ((1 - x) ** 2 + 100 * (y - x * x) ** 2).backward()
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [1.0, 1.0], atol=0.02)


@pytest.mark.parametrize("name", ["tinydl.optim", "tinydl.optim.optimizers", "tinydl.optim.schedules",
                                  "tinydl.optim.clip", "tinydl.nn.regularizers"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
