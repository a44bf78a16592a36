"""tinydl.optim and tinydl.optim.lr_scheduler against PyTorch 2.13's recorded trajectories and lr
sequences (tests/golden/record_torch_optim_data.py)."""
import io
import json
import os

import numpy as np
import pytest

import tinydl
from tinydl import Tensor, optim
from tinydl.optim import lr_scheduler

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
with open(os.path.join(GOLDEN, "torch_optim.json")) as _f:
    REC = json.load(_f)
ARR = np.load(os.path.join(GOLDEN, "torch_optim.npz"), allow_pickle=False)
STEPS = REC["steps"]
LAMBDAS = {"pow095": lambda e: 0.95 ** e, "warmup4": lambda e: min(1.0, (e + 1) / 4)}
TOL = {"float64": dict(rtol=1e-11, atol=1e-13), "float32": dict(rtol=2e-5, atol=1e-6)}


def test_recorded_with_pytorch_2_13():
    assert REC["__version__"].startswith("2.13")


def _kwargs(kw):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}


def _run(name, dtype):
    case = REC["optimizers"][name]
    ps = [Tensor(ARR[f"p0_{i}"].astype(dtype), requires_grad=True) for i in range(2)]
    opt = getattr(optim, case["class"])(ps, **_kwargs(case["kwargs"]))
    for t in range(STEPS):
        for i, p in enumerate(ps):
            p.grad = Tensor(ARR[f"grad_{t}_{i}"].astype(dtype))
        opt.step()
        for i, p in enumerate(ps):
            np.testing.assert_allclose(p.detach().numpy(), ARR[f"{name}_{dtype}_{t}_{i}"], **TOL[dtype],
                                       err_msg=f"{name} {dtype} step {t} param {i}")
    return ps, opt


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(REC["optimizers"]))
def test_optimizer_trajectory_matches_pytorch(name, dtype):
    ps, opt = _run(name, dtype)
    assert all(p.dtype == np.dtype(dtype) for p in ps)
    sd = opt.state_dict()
    case = REC["optimizers"][name]
    assert {str(k): sorted(v) for k, v in sd["state"].items()} == case["state_keys"]
    for idx, state in sd["state"].items():
        for key, value in state.items():
            assert isinstance(value, Tensor)
            want = ARR[f"{name}_{dtype}_state_{idx}_{key}"]
            np.testing.assert_allclose(value.detach().numpy(), want, **TOL[dtype], err_msg=f"{name} state {key}")
            assert value.dtype == (np.float32 if key == "step" else np.dtype(dtype))
    # the param groups hold PyTorch's keys and values (betas as a tuple there, a list in JSON)
    mine = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in sd["param_groups"]]
    assert mine == case["param_groups"]


def test_param_groups_with_their_own_settings_match_pytorch():
    ps = [Tensor(ARR[f"p0_{i}"].copy(), requires_grad=True) for i in range(2)]
    opt = optim.SGD([{"params": [ps[0]], "lr": 0.5, "momentum": 0.9}, {"params": [ps[1]]}], lr=0.1)
    for t in range(STEPS):
        for i, p in enumerate(ps):
            p.grad = Tensor(ARR[f"grad_{t}_{i}"])
        opt.step()
    np.testing.assert_allclose(ps[0].detach().numpy(), ARR["groups_final_0"], rtol=1e-12)
    np.testing.assert_allclose(ps[1].detach().numpy(), ARR["groups_final_1"], rtol=1e-12)
    opt.add_param_group({"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": 0.3})
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1, 0.3]
    assert opt.param_groups[2]["momentum"] == 0 and opt.param_groups[2]["nesterov"] is False
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [ps[0]]})


def test_named_parameters_are_accepted():
    w = Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([("w", w)], lr=0.1)
    assert opt.param_groups[0]["params"] == [w] and opt.param_groups[0]["param_names"] == ["w"]


def test_state_dict_resumes_bit_exactly_through_tinydl_save():
    name, dtype = "adam_amsgrad_wd", "float32"
    ps, opt = _run(name, dtype)
    buf = io.BytesIO()
    tinydl.save({"opt": opt.state_dict(), "params": [p.detach().numpy() for p in ps]}, buf)
    buf.seek(0)
    ck = tinydl.load(buf)
    ps2 = [Tensor(a.copy(), requires_grad=True) for a in ck["params"]]
    opt2 = optim.Adam(ps2, lr=1.0)  # its settings are replaced by the loaded ones
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] and opt2.param_groups[0]["amsgrad"] is True
    g = [np.full(p.shape, 0.3, np.float32) for p in ps]
    for o, params in ((opt, ps), (opt2, ps2)):
        for p, gi in zip(params, g):
            p.grad = Tensor(gi)
        o.step()
    for p, q in zip(ps, ps2):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_closure_runs_with_gradients_enabled_and_its_loss_is_returned():
    w = Tensor(np.array([2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tinydl.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == pytest.approx(1.0)


def test_zero_grad_set_to_none_false_zeroes_in_place():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_defaults_and_errors_are_pytorchs():
    w = Tensor(np.ones(1), requires_grad=True)
    assert optim.SGD([w]).defaults["lr"] == 1e-3
    assert optim.Adagrad([w]).defaults["lr"] == 1e-2 and optim.RMSprop([w]).defaults["lr"] == 1e-2
    assert optim.AdamW([w]).defaults["weight_decay"] == 1e-2
    assert optim.Adagrad([w]).state[w]["sum"].tolist() == [0.0]  # Adagrad's state exists from the start
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([w], momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="invalid beta2"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(NotImplementedError, match="differentiable"):
        optim.Adam([w], differentiable=True)


def test_keras_optimizers_keep_keras_semantics_on_the_shared_classes():
    from tinydl.keras import optimizers as kopt
    w = Tensor(np.array([1.0], np.float32), requires_grad=True)
    opt = kopt.SGD(0.1, momentum=0.9)
    for _ in range(2):
        opt.apply_gradients([(Tensor(np.array([1.0], np.float32)), w)])
    # Keras: v = 0.9 v - 0.1 g; w += v  ->  w = 1 - 0.1 - 0.19
    assert w.item() == pytest.approx(0.71)
    sd = opt.state_dict()
    assert sd["iterations"] == 2 and sd["optimizer"] == "KerasSGD"  # the bound rule, checked on load


# ---- schedulers ---------------------------------------------------------------------------------

def _sched_opt():
    return optim.SGD([{"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": 0.1},
                      {"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": 1.0}], momentum=0.9)


SIMPLE = [k for k, v in REC["schedulers"].items() if "class" in v]


@pytest.mark.parametrize("name", SIMPLE)
def test_scheduler_lr_sequence_matches_pytorch(name):
    case = REC["schedulers"][name]
    opt = _sched_opt()
    kw = dict(case["kwargs"])
    if "lr_lambda" in kw:
        kw["lr_lambda"] = LAMBDAS[kw["lr_lambda"]]
    sched = getattr(lr_scheduler, case["class"])(opt, **kw)
    lrs, moms = [sched.get_last_lr()], [[g["momentum"] for g in opt.param_groups]]
    for _ in range(len(case["lrs"]) - 1):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        moms.append([g["momentum"] for g in opt.param_groups])
    np.testing.assert_allclose(lrs, case["lrs"], rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(moms, case["momentums"], rtol=1e-14)
    assert sched.last_epoch == case["last_epoch"]
    assert all(g["initial_lr"] is not None for g in opt.param_groups)


def test_one_cycle_cycles_adams_beta1_like_pytorch():
    case = REC["schedulers"]["onecycle_adam"]
    opt = optim.Adam([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=5)
    betas, lrs = [opt.param_groups[0]["betas"][0]], [sched.get_last_lr()]
    for _ in range(9):
        opt.step()
        sched.step()
        betas.append(opt.param_groups[0]["betas"][0])
        lrs.append(sched.get_last_lr())
    np.testing.assert_allclose(betas, case["beta1"], rtol=1e-14)
    np.testing.assert_allclose(lrs, case["lrs"], rtol=1e-14)
    sched.step()  # step 10 of 10
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        sched.step()


def test_sequential_lr_matches_pytorch():
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    warm = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched = lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[3])
    lrs = [sched.get_last_lr()]
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    np.testing.assert_allclose(lrs, REC["schedulers"]["sequential"]["lrs"], rtol=1e-14)


@pytest.mark.parametrize("name", ["plateau_min", "plateau_max_abs"])
def test_reduce_lr_on_plateau_matches_pytorch(name):
    case = REC["schedulers"][name]
    opt = optim.SGD([{"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": 0.1},
                     {"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": 1.0}])
    sched = lr_scheduler.ReduceLROnPlateau(opt, **case["kwargs"])
    lrs = []
    for m in case["metrics"]:
        opt.step()
        sched.step(m)
        lrs.append(sched.get_last_lr())
    np.testing.assert_allclose(lrs, case["lrs"], rtol=1e-14)
    assert sched.best == case["best"] and sched.num_bad_epochs == case["num_bad_epochs"]


def test_scheduler_state_dict_resumes_the_sequence():
    opt = _sched_opt()
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
    for _ in range(3):
        opt.step()
        sched.step()
    buf = io.BytesIO()
    tinydl.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ck = tinydl.load(buf)
    opt2 = _sched_opt()
    opt2.load_state_dict(ck["opt"])
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=5, eta_min=0.01, last_epoch=2)
    sched2.load_state_dict(ck["sched"])
    for _ in range(6):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
    np.testing.assert_allclose([sched.get_last_lr()], [REC["schedulers"]["cosine"]["lrs"][9]], rtol=1e-14)


def test_scheduler_errors_are_pytorchs():
    opt = _sched_opt()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=4)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.warns(UserWarning, match="deprecated"):
        s = lr_scheduler.StepLR(_sched_opt(), step_size=2, gamma=0.5)
        s.step(4)  # the closed form
    assert s.get_last_lr() == [0.025, 0.25]


def test_unimplemented_pytorch_names_raise_not_implemented():
    with pytest.raises(NotImplementedError, match="torch.optim.NAdam is not implemented"):
        optim.NAdam
    with pytest.raises(NotImplementedError, match="CyclicLR is not implemented"):
        lr_scheduler.CyclicLR


def test_a_state_dict_in_tinydls_earlier_layout_still_loads():
    w = Tensor(np.ones(2), requires_grad=True)
    old = {"optimizer": "Adam", "iterations": 3,
           "param_groups": [{"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                             "amsgrad": False, "num_params": 1}],
           "state": [{"step": 3, "exp_avg": np.full(2, 0.1), "exp_avg_sq": np.full(2, 0.01)}]}
    opt = optim.Adam([w])
    opt.load_state_dict(old)
    assert opt.iterations == 3 and opt.param_groups[0]["lr"] == 0.01
    assert opt.state[w]["step"].item() == 3.0 and opt.state[w]["exp_avg"].tolist() == [0.1, 0.1]


def test_a_custom_optimizer_written_as_in_pytorch():
    class PlainSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self.state[p]["calls"] = self.state[p].get("calls", 0) + 1  # state is a defaultdict
                    p.data -= group["lr"] * p.grad.data

    w = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = PlainSGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    assert w.tolist() == [0.0, 0.0] and opt.state[w]["calls"] == 1
    assert opt.state_dict()["state"] == {0: {"calls": 1}}


def test_a_keras_rule_reads_its_base_rules_state_and_refuses_others():
    from tinydl.keras import optimizers as kopt
    w = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    torch_adam = optim.Adam([w], lr=0.1)
    w.grad = Tensor(np.array([0.5, -0.5], np.float32))
    torch_adam.step()
    state = dict(torch_adam.state_dict(), optimizer="Adam")  # as a Keras Adam wrote it before its own rule
    keras_adam = kopt.Adam(0.1).build([w])
    keras_adam.load_state_dict(state)
    np.testing.assert_array_equal(keras_adam.inner.state_dict()["state"][0]["exp_avg"].numpy(),
                                  torch_adam.state_dict()["state"][0]["exp_avg"].numpy())
    keras_sgd = kopt.SGD(0.1, momentum=0.9).build([w])
    with pytest.raises(ValueError, match="this state is from SGD"):
        keras_sgd.load_state_dict(dict(optim.SGD([w], lr=0.1, momentum=0.9).state_dict(), optimizer="SGD"))
