"""Record PyTorch 2.13's optimizer trajectories, scheduler lr sequences, data-API rules and
serialized files, for tests/test_torch_optim.py, test_torch_data.py and test_torch_serialization.py.

Run from the repository root under PyTorch (``pip install ".[oracle]"``; safetensors too):
    python tests/golden/record_torch_optim_data.py
Writes tests/golden/torch_optim.{json,npz}, torch_data.json and tests/golden/torch_io/*.
Deterministic: inputs come from NumPy (or torch's generator) with fixed seeds and are stored beside
the results. One exception: PyTorch's legacy format names storages by memory address, so
state_dict_legacy.pt changes its storage keys (not its content) on every run.
"""
import collections
import json
import os

import numpy as np
import torch
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file

HERE = os.path.dirname(os.path.abspath(__file__))
IO_DIR = os.path.join(HERE, "torch_io")
STEPS = 5

OPTIM_CASES = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_dampening": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    "sgd_maximize": ("SGD", dict(lr=0.1, momentum=0.5, maximize=True)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam_amsgrad_wd": ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    "adam_maximize": ("Adam", dict(lr=0.01, maximize=True)),
    "adam_decoupled": ("Adam", dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.03, weight_decay=0.5, amsgrad=True)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop_centered_momentum": ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True)),
    "rmsprop_wd_maximize": ("RMSprop", dict(lr=0.01, weight_decay=0.1, maximize=True, eps=1e-4)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad_all": ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2,
                                    eps=1e-6)),
    "adagrad_maximize": ("Adagrad", dict(lr=0.1, maximize=True)),
}

LAMBDAS = {"pow095": lambda e: 0.95 ** e, "warmup4": lambda e: min(1.0, (e + 1) / 4)}

SCHED_CASES = {
    "step": ("StepLR", dict(step_size=3, gamma=0.5), 12),
    "multistep": ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), 12),
    "exponential": ("ExponentialLR", dict(gamma=0.9), 12),
    "cosine": ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01), 16),
    "lambda": ("LambdaLR", dict(lr_lambda="pow095"), 10),
    "lambda_warmup": ("LambdaLR", dict(lr_lambda="warmup4"), 8),
    "linear": ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=4), 8),
    "onecycle": ("OneCycleLR", dict(max_lr=1.0, total_steps=20), 19),
    "onecycle_linear_3phase": ("OneCycleLR", dict(max_lr=[0.5, 2.0], total_steps=15, anneal_strategy="linear",
                                                  three_phase=True, pct_start=0.4), 14),
}


def _params(rng):
    return [rng.standard_normal((3, 4)), rng.standard_normal(4)]


def record_optim():
    rng = np.random.default_rng(0)
    p0 = _params(rng)
    grads = [[rng.standard_normal(p.shape) for p in p0] for _ in range(STEPS)]
    arrays = {"p0_0": p0[0], "p0_1": p0[1]}
    for t, gs in enumerate(grads):
        for i, g in enumerate(gs):
            arrays[f"grad_{t}_{i}"] = g
    cases = {}
    for name, (cls, kwargs) in OPTIM_CASES.items():
        for dtype in ("float64", "float32"):
            ps = [torch.tensor(p, dtype=getattr(torch, dtype), requires_grad=True) for p in p0]
            opt = getattr(torch.optim, cls)(ps, **kwargs)
            for t in range(STEPS):
                for p, g in zip(ps, grads[t]):
                    p.grad = torch.tensor(g, dtype=p.dtype)
                opt.step()
                for i, p in enumerate(ps):
                    arrays[f"{name}_{dtype}_{t}_{i}"] = p.detach().numpy().copy()
            sd = opt.state_dict()
            for idx, st in sd["state"].items():
                for k, v in st.items():
                    arrays[f"{name}_{dtype}_state_{idx}_{k}"] = v.detach().numpy().copy()
        groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
        cases[name] = {"class": cls, "kwargs": kwargs, "param_groups": groups,
                       "state_keys": {str(i): sorted(st) for i, st in sd["state"].items()}}
    # param groups with their own settings
    ps = [torch.tensor(p, requires_grad=True) for p in p0]
    opt = torch.optim.SGD([{"params": [ps[0]], "lr": 0.5, "momentum": 0.9}, {"params": [ps[1]]}], lr=0.1)
    for t in range(STEPS):
        for p, g in zip(ps, grads[t]):
            p.grad = torch.tensor(g)
        opt.step()
    arrays["groups_final_0"], arrays["groups_final_1"] = ps[0].detach().numpy(), ps[1].detach().numpy()
    return cases, arrays


def record_schedulers():
    out = {}
    for name, (cls, kwargs, steps) in SCHED_CASES.items():
        ps = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
        opt = torch.optim.SGD([{"params": [ps[0]], "lr": 0.1}, {"params": [ps[1]], "lr": 1.0}], momentum=0.9)
        kw = dict(kwargs)
        if "lr_lambda" in kw:
            kw["lr_lambda"] = LAMBDAS[kw["lr_lambda"]]
        sched = getattr(torch.optim.lr_scheduler, cls)(opt, **kw)
        lrs, moms = [sched.get_last_lr()], [[g["momentum"] for g in opt.param_groups]]
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            moms.append([g["momentum"] for g in opt.param_groups])
        out[name] = {"class": cls, "kwargs": kwargs, "lrs": lrs, "momentums": moms,
                     "last_epoch": sched.last_epoch}
    # OneCycleLR cycling Adam's beta1
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=2, steps_per_epoch=5)
    betas = [opt.param_groups[0]["betas"][0]]
    lrs = [sched.get_last_lr()]
    for _ in range(9):
        opt.step()
        sched.step()
        betas.append(opt.param_groups[0]["betas"][0])
        lrs.append(sched.get_last_lr())
    out["onecycle_adam"] = {"lrs": lrs, "beta1": betas}
    # SequentialLR: a linear warm-up, then exponential decay
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    decay = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[3])
    lrs = [sched.get_last_lr()]
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    out["sequential"] = {"lrs": lrs}
    # ReduceLROnPlateau on a fixed metric sequence
    metrics = [1.0, 0.9, 0.91, 0.9, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.5, 0.6, 0.6, 0.6, 0.6]
    for name, kw in {"plateau_min": dict(patience=2, factor=0.5, cooldown=1),
                     "plateau_max_abs": dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs",
                                             min_lr=[0.02, 0.3], factor=0.3)}.items():
        ps = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
        opt = torch.optim.SGD([{"params": [ps[0]], "lr": 0.1}, {"params": [ps[1]], "lr": 1.0}])
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(m)
            lrs.append(sched.get_last_lr())
        out[name] = {"kwargs": kw, "metrics": metrics, "lrs": lrs, "best": sched.best,
                     "num_bad_epochs": sched.num_bad_epochs}
    return out


def record_data():
    from torch.utils.data import random_split, default_collate, DataLoader, TensorDataset
    splits = {}
    for n, lengths in [(10, [0.7, 0.3]), (11, [0.5, 0.25, 0.25]), (7, [0.1, 0.1, 0.8]), (10, [3, 7]),
                       (5, [0.2, 0.2, 0.2, 0.2, 0.2])]:
        parts = random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        splits[f"{n}:{lengths}"] = [len(p) for p in parts]
    batch = [(np.array([1.0, 2.0], np.float32), 3, 2.5, True, "a", {"k": np.int16(4)}),
             (np.array([3.0, 4.0], np.float32), 5, 3.5, False, "b", {"k": np.int16(6)})]
    out = default_collate(batch)
    collate = {"types": [type(o).__name__ for o in out],
               "dtypes": [str(o.dtype).replace("torch.", "") if isinstance(o, torch.Tensor) else None for o in out],
               "values": [o.tolist() if isinstance(o, torch.Tensor) else o for o in out[:5]],
               "dict": {"k": [out[5]["k"].tolist(), str(out[5]["k"].dtype).replace("torch.", "")]}}
    ds = TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    loader = {"batches": [[x.tolist(), y.tolist()] for x, y in DataLoader(ds, batch_size=2)],
              "len": len(DataLoader(ds, batch_size=2)), "len_drop": len(DataLoader(ds, batch_size=2, drop_last=True)),
              "unbatched": [[x.tolist(), y.tolist()] for x, y in DataLoader(ds, batch_size=None)][:2]}
    return {"random_split_sizes": splits, "default_collate": collate, "loader": loader}


def record_files():
    os.makedirs(IO_DIR, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 3, generator=g)
    sd = collections.OrderedDict()
    sd["linear.weight"] = torch.randn(3, 5, generator=g)
    sd["linear.bias"] = torch.randn(3, generator=g).double()
    sd["emb.weight"] = torch.randn(6, 2, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    sd["mask"] = torch.tensor([True, False, True])
    sd["bytes"] = torch.arange(5, dtype=torch.uint8)
    sd["ints"] = torch.arange(6, dtype=torch.int32).reshape(2, 3)
    sd["transposed"] = base.t()                 # a strided view: storage (4, 3), size (3, 4)
    sd["tied_a"] = base                          # shares the storage with "transposed"
    sd["row"] = base[2]                          # a view at an offset
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    torch.save(sd, os.path.join(IO_DIR, "state_dict.pt"))
    torch.save(sd, os.path.join(IO_DIR, "state_dict_legacy.pt"), _use_new_zipfile_serialization=False)
    expected = {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()}
    strides = {k: list(v.stride()) for k, v in sd.items()}
    offsets = {k: v.storage_offset() for k, v in sd.items()}

    w = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    opt = torch.optim.Adam([w], lr=0.1)
    (w ** 2).sum().backward()
    opt.step()
    checkpoint = {"epoch": 4, "loss": 0.25, "name": "run", "none": None, "pair": (1, 2.0), "list": [1, "two"],
                  "params": [w], "optimizer": opt.state_dict(), "nested": {"a": {"b": torch.ones(2)}}}
    torch.save(checkpoint, os.path.join(IO_DIR, "checkpoint.pt"))
    expected["ckpt_w"] = w.detach().numpy()
    for k, v in opt.state_dict()["state"][0].items():
        expected[f"ckpt_opt_{k}"] = v.numpy()

    st = {"weight": torch.randn(3, 4, generator=g), "bias": torch.randn(4, generator=g).double(),
          "idx": torch.arange(5), "half": torch.randn(2, generator=g).half(), "bf": torch.randn(3, generator=g).bfloat16()}
    torch_save_file(st, os.path.join(IO_DIR, "torch_writer.safetensors"), metadata={"format": "pt", "epoch": "3"})
    for k, v in st.items():
        expected[f"st_{k}"] = (v.float() if v.dtype == torch.bfloat16 else v).numpy()
    same_dtype = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(4, np.float32)}
    np_save_file(same_dtype, os.path.join(IO_DIR, "numpy_writer.safetensors"))
    np.savez(os.path.join(IO_DIR, "expected.npz"), **expected)
    with open(os.path.join(IO_DIR, "expected.json"), "w") as f:
        json.dump({"__version__": torch.__version__, "strides": strides, "offsets": offsets,
                   "dtypes": {k: str(v.dtype).replace("torch.", "") for k, v in sd.items()},
                   "checkpoint_opt_groups": opt.state_dict()["param_groups"]}, f, indent=1, sort_keys=True)


def main():
    cases, arrays = record_optim()
    scheds = record_schedulers()
    with open(os.path.join(HERE, "torch_optim.json"), "w") as f:
        json.dump({"__version__": torch.__version__, "steps": STEPS, "optimizers": cases, "schedulers": scheds},
                  f, indent=1, sort_keys=True, default=lambda x: None if x is None else float(x))
    np.savez_compressed(os.path.join(HERE, "torch_optim.npz"), **arrays)
    with open(os.path.join(HERE, "torch_data.json"), "w") as f:
        json.dump({"__version__": torch.__version__, **record_data()}, f, indent=1, sort_keys=True)
    record_files()


if __name__ == "__main__":
    main()
