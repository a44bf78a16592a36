"""Record PyTorch's torch.nn golden values for tests/test_torch_nn.py.

Run from the repository root with PyTorch 2.13 CPU installed (never tinydl):
    python tests/golden/record_torch_nn.py
Writes tests/golden/torch_nn.npz (arrays) and tests/golden/torch_nn.json (structure). Deterministic:
inputs come from NumPy with fixed seeds; each layer's parameters are drawn by NumPy too and loaded
into the PyTorch module, so the fixture holds the state_dict, the inputs, the outputs and the
gradients of sum(output * g) with respect to the inputs and the parameters, all float64.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)
arrays, meta = {"__version__": np.array(torch.__version__)}, {"__version__": torch.__version__, "layers": {},
                                                                    "losses": {}, "init": {}, "functional": {}}


def rng(name):
    return np.random.default_rng(sum(map(ord, name)) * 7919)


# ---- layers: (name, constructor source, input shapes/kinds, mode) ------------------------------
# The constructor strings are evaluated with ``nn`` bound to torch.nn here and to tinydl.nn in the test.
LAYERS = [
    ("linear", "nn.Linear(5, 3)", [("f", (4, 5))], "train"),
    ("linear_nobias_3d", "nn.Linear(4, 2, bias=False)", [("f", (2, 3, 4))], "train"),
    ("conv1d", "nn.Conv1d(3, 4, 3, stride=2, padding=1)", [("f", (2, 3, 9))], "train"),
    ("conv2d", "nn.Conv2d(3, 4, 3, padding=1)", [("f", (2, 3, 5, 5))], "train"),
    ("conv2d_groups", "nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)", [("f", (1, 4, 7, 7))], "train"),
    ("conv2d_same", "nn.Conv2d(2, 3, (3, 2), padding='same', bias=False)", [("f", (1, 2, 5, 5))], "train"),
    ("conv_transpose2d", "nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)", [("f", (2, 3, 4, 4))], "train"),
    ("maxpool1d", "nn.MaxPool1d(2)", [("f", (2, 3, 8))], "train"),
    ("maxpool2d", "nn.MaxPool2d(3, stride=2, padding=1)", [("f", (1, 3, 7, 7))], "train"),
    ("avgpool2d", "nn.AvgPool2d(3, stride=2, padding=1)", [("f", (1, 3, 7, 7))], "train"),
    ("avgpool2d_excl", "nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)", [("f", (1, 3, 7, 7))], "train"),
    ("adaptive_avgpool2d", "nn.AdaptiveAvgPool2d((2, 3))", [("f", (2, 3, 5, 7))], "train"),
    ("batchnorm1d_train", "nn.BatchNorm1d(4)", [("f", (6, 4))], "train"),
    ("batchnorm1d_3d", "nn.BatchNorm1d(3, momentum=None)", [("f", (4, 3, 5))], "train"),
    ("batchnorm2d_train", "nn.BatchNorm2d(3)", [("f", (4, 3, 3, 3))], "train"),
    ("batchnorm2d_eval", "nn.BatchNorm2d(3)", [("f", (4, 3, 3, 3))], "eval"),
    ("layernorm", "nn.LayerNorm((3, 4))", [("f", (2, 5, 3, 4))], "train"),
    ("groupnorm", "nn.GroupNorm(2, 4)", [("f", (2, 4, 3, 3))], "train"),
    ("embedding", "nn.Embedding(10, 4, padding_idx=0)", [("i10", (2, 5))], "train"),
    ("rnn", "nn.RNN(3, 5, num_layers=2, nonlinearity='relu')", [("f", (4, 2, 3))], "train"),
    ("lstm", "nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)", [("f", (2, 4, 3))], "train"),
    ("gru", "nn.GRU(3, 5, bidirectional=True)", [("f", (4, 2, 3))], "train"),
    ("gru_h0", "nn.GRU(3, 4, num_layers=2)", [("f", (5, 2, 3)), ("f", (2, 2, 4))], "train"),
    ("mha", "nn.MultiheadAttention(6, 2)", [("f", (4, 2, 6)), ("f", (5, 2, 6)), ("f", (5, 2, 6))], "train"),
    ("mha_batch_first", "nn.MultiheadAttention(6, 3, batch_first=True, kdim=4, vdim=5)",
     [("f", (2, 3, 6)), ("f", (2, 4, 4)), ("f", (2, 4, 5))], "train"),
    ("transformer_encoder_layer", "nn.TransformerEncoderLayer(6, 2, dim_feedforward=10, dropout=0.0)",
     [("f", (4, 2, 6))], "train"),
    ("transformer_encoder_layer_prenorm",
     "nn.TransformerEncoderLayer(6, 3, dim_feedforward=8, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)",
     [("f", (2, 4, 6))], "train"),
    ("flatten", "nn.Flatten()", [("f", (2, 3, 2, 2))], "train"),
    ("unflatten", "nn.Unflatten(1, (2, 3))", [("f", (4, 6))], "train"),
    ("identity", "nn.Identity(54, unused='x')", [("f", (3, 2))], "train"),
    ("dropout_eval", "nn.Dropout(0.3)", [("f", (3, 4))], "eval"),
    ("relu", "nn.ReLU()", [("f", (3, 7))], "train"),
    ("leaky_relu", "nn.LeakyReLU()", [("f", (3, 7))], "train"),
    ("leaky_relu_02", "nn.LeakyReLU(0.2)", [("f", (3, 7))], "train"),
    ("gelu", "nn.GELU()", [("f", (3, 7))], "train"),
    ("gelu_tanh", "nn.GELU(approximate='tanh')", [("f", (3, 7))], "train"),
    ("silu", "nn.SiLU()", [("f", (3, 7))], "train"),
    ("elu", "nn.ELU(alpha=0.7)", [("f", (3, 7))], "train"),
    ("softplus", "nn.Softplus(beta=2.0, threshold=3.0)", [("f", (3, 7))], "train"),
    ("mish", "nn.Mish()", [("f", (3, 7))], "train"),
    ("hardtanh", "nn.Hardtanh(-0.5, 0.8)", [("f", (3, 7))], "train"),
    ("relu6", "nn.ReLU6()", [("f", (3, 7))], "train"),
    ("tanh", "nn.Tanh()", [("f", (3, 7))], "train"),
    ("sigmoid", "nn.Sigmoid()", [("f", (3, 7))], "train"),
    ("logsigmoid", "nn.LogSigmoid()", [("f", (3, 7))], "train"),
    ("softmax", "nn.Softmax(dim=1)", [("f", (3, 4, 2))], "train"),
    ("log_softmax", "nn.LogSoftmax(dim=-1)", [("f", (3, 5))], "train"),
    ("sequential", "nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 4))",
     [("f", (2, 2, 6, 6))], "train"),
]


def make_input(kind, shape, r):
    if kind == "f":
        return r.standard_normal(shape) * 1.5
    n = int(kind[1:])
    return r.integers(0, n, shape).astype(np.int64)


def record_layer(name, ctor, inputs, mode):
    r = rng(name)
    torch.manual_seed(0)
    m = eval(ctor)
    sd = m.state_dict()
    with torch.no_grad():  # parameters drawn by NumPy, so the fixture does not depend on torch's RNG
        for k, v in sd.items():
            if v.dtype.is_floating_point and "running_var" not in k:
                v.copy_(torch.from_numpy(r.standard_normal(tuple(v.shape)) * 0.5))
            elif "running_var" in k:
                v.copy_(torch.from_numpy(r.uniform(0.5, 2.0, tuple(v.shape))))
        if name == "embedding":
            m.weight[0] = 0
    m.train(mode == "train")
    keys = list(sd.keys())
    for k in keys:
        arrays[f"layers|{name}|sd|{k}"] = sd[k].detach().numpy().copy()
    xs = []
    for i, (kind, shape) in enumerate(inputs):
        a = make_input(kind, shape, r)
        arrays[f"layers|{name}|in|{i}"] = a
        t = torch.from_numpy(a)
        if kind == "f":
            t.requires_grad_(True)
        xs.append(t)
    if name.startswith("mha"):
        kpm = np.zeros((xs[1].shape[1] if not m.batch_first else xs[1].shape[0], xs[1].shape[0] if not m.batch_first else xs[1].shape[1]), bool)
        kpm[0, -1] = True
        arrays[f"layers|{name}|kpm"] = kpm
        out = m(*xs, key_padding_mask=torch.from_numpy(kpm))
    elif name == "gru_h0":
        out = m(xs[0], xs[1])
    else:
        out = m(*xs)
    outs = list(out) if isinstance(out, tuple) else [out]
    flat = []
    for o in outs:
        flat.extend(list(o) if isinstance(o, tuple) else [o])
    loss = 0
    for i, o in enumerate(flat):
        arrays[f"layers|{name}|out|{i}"] = o.detach().numpy().copy()
        g = r.standard_normal(tuple(o.shape))
        arrays[f"layers|{name}|gout|{i}"] = g
        loss = loss + (o * torch.from_numpy(g)).sum()
    params = dict(m.named_parameters())
    if isinstance(loss, torch.Tensor) and loss.requires_grad:
        loss.backward()
    for i, t in enumerate(xs):
        if t.grad is not None:
            arrays[f"layers|{name}|gin|{i}"] = t.grad.numpy().copy()
    for k, p in params.items():
        if p.grad is not None:
            arrays[f"layers|{name}|gp|{k}"] = p.grad.numpy().copy()
    after = m.state_dict()
    for k in keys:
        if "running" in k or "num_batches" in k:
            arrays[f"layers|{name}|after|{k}"] = after[k].numpy().copy()
    meta["layers"][name] = {"ctor": ctor, "inputs": [list(map(str, (k,))) + list(s) for k, s in inputs],
                            "mode": mode, "keys": keys, "n_out": len(flat),
                            "params": list(params), "repr": repr(m)}


for spec in LAYERS:
    record_layer(*spec)


# ---- losses ----------------------------------------------------------------------------------
def rec_loss(name, call, args, grad_args=(0,)):
    """call: a string evaluated with F bound (args a0, a1, ... as torch tensors)."""
    env = {"F": F, "torch": torch, "math": math}
    ts = []
    for i, a in enumerate(args):
        arrays[f"losses|{name}|arg|{i}"] = a
        t = torch.from_numpy(a.copy())
        if i in grad_args:
            t.requires_grad_(True)
        ts.append(t)
        env[f"a{i}"] = t
    out = {}
    for red in ("mean", "sum", "none"):
        if "batchmean" in call and red != "mean":
            continue
        for t in ts:
            t.grad = None
        with torch.autograd.set_grad_enabled(True):
            o = eval(call.replace("RED", red), env)
        arrays[f"losses|{name}|{red}|out"] = o.detach().numpy().copy()
        g = rng(name + red).standard_normal(tuple(o.shape))
        arrays[f"losses|{name}|{red}|gout"] = g
        (o * torch.from_numpy(g)).sum().backward()
        for i in grad_args:
            arrays[f"losses|{name}|{red}|gin|{i}"] = ts[i].grad.numpy().copy()
        out[red] = True
    meta["losses"][name] = {"call": call, "n_args": len(args), "grad_args": list(grad_args), "reductions": list(out)}


r = np.random.default_rng(7)
x, y = r.standard_normal((4, 5)), r.standard_normal((4, 5))
rec_loss("mse", "F.mse_loss(a0, a1, reduction='RED')", [x, y], (0, 1))
rec_loss("l1", "F.l1_loss(a0, a1, reduction='RED')", [x, y], (0, 1))
rec_loss("smooth_l1", "F.smooth_l1_loss(a0, a1, reduction='RED', beta=0.5)", [x, y])
rec_loss("smooth_l1_beta0", "F.smooth_l1_loss(a0, a1, reduction='RED', beta=0.0)", [x, y])
rec_loss("huber", "F.huber_loss(a0, a1, reduction='RED', delta=0.7)", [x, y])
logits = r.standard_normal((6, 4)) * 2
labels = np.array([0, 3, 1, 2, 3, 1], np.int64)
w = np.array([0.5, 1.0, 2.0, 1.5])
rec_loss("cross_entropy", "F.cross_entropy(a0, a1, reduction='RED')", [logits, labels])
rec_loss("cross_entropy_weight_ignore", "F.cross_entropy(a0, a1, weight=a2, ignore_index=1, reduction='RED')",
         [logits, labels, w])
rec_loss("cross_entropy_smoothing", "F.cross_entropy(a0, a1, weight=a2, ignore_index=3, label_smoothing=0.2, reduction='RED')",
         [logits, labels, w])
rec_loss("cross_entropy_smoothing_plain", "F.cross_entropy(a0, a1, label_smoothing=0.1, reduction='RED')",
         [logits, labels])
probs = r.dirichlet(np.ones(4), 6)
rec_loss("cross_entropy_probs", "F.cross_entropy(a0, a1, weight=a2, label_smoothing=0.1, reduction='RED')",
         [logits, probs, w])
rec_loss("cross_entropy_nd", "F.cross_entropy(a0, a1, ignore_index=2, reduction='RED')",
         [r.standard_normal((2, 3, 4, 2)), r.integers(0, 3, (2, 4, 2)).astype(np.int64)])
rec_loss("cross_entropy_unbatched", "F.cross_entropy(a0, a1, reduction='RED')", [r.standard_normal(5), np.array(2)])
logp = np.log(r.dirichlet(np.ones(4), 6))
rec_loss("nll", "F.nll_loss(a0, a1, weight=a2, ignore_index=0, reduction='RED')", [logp, labels, w])
p = r.uniform(0.05, 0.95, (3, 4))
p[0, 0], p[0, 1], p[1, 0], p[1, 1] = 0.0, 1.0, 0.0, 1.0
t = r.uniform(0, 1, (3, 4))
t[0, 0], t[0, 1], t[1, 0], t[1, 1] = 1.0, 0.0, 0.0, 1.0
rec_loss("bce", "F.binary_cross_entropy(a0, a1, reduction='RED')", [p, t])
rec_loss("bce_weight", "F.binary_cross_entropy(a0, a1, weight=a2, reduction='RED')", [p, t, r.uniform(0.5, 2, (4,))])
z = r.standard_normal((3, 4)) * 3
z[0, 0], z[0, 1] = 40.0, -40.0
rec_loss("bce_logits", "F.binary_cross_entropy_with_logits(a0, a1, reduction='RED')", [z, t])
rec_loss("bce_logits_pos_weight", "F.binary_cross_entropy_with_logits(a0, a1, weight=a3, pos_weight=a2, reduction='RED')",
         [z, t, r.uniform(0.5, 3, (4,)), r.uniform(0.5, 2, (3, 1))])
q = r.dirichlet(np.ones(5), 3)
q[0, 1] = 0.0
rec_loss("kl_div", "F.kl_div(a0, a1, reduction='RED')", [np.log(r.dirichlet(np.ones(5), 3)), q])
rec_loss("kl_div_batchmean", "F.kl_div(a0, a1, reduction='batchmean')", [np.log(r.dirichlet(np.ones(5), 3)), q])
rec_loss("kl_div_log_target", "F.kl_div(a0, a1, reduction='RED', log_target=True)",
         [np.log(r.dirichlet(np.ones(5), 3)), np.log(r.dirichlet(np.ones(5), 3))], (0, 1))

# float32 extremes: the values PyTorch gives (finite)
ext = np.array([[1e30, -1e30, 0.0], [-1e30, 1e30, 5.0]], np.float32)
te = torch.from_numpy(ext)
arrays["extreme|logits"] = ext
arrays["extreme|ce"] = F.cross_entropy(te, torch.tensor([1, 1]), reduction="none").numpy()
arrays["extreme|softmax"] = F.softmax(te, dim=1).numpy()
arrays["extreme|log_softmax"] = F.log_softmax(te, dim=1).numpy()
arrays["extreme|bce_logits"] = F.binary_cross_entropy_with_logits(te, torch.ones_like(te), reduction="none").numpy()
h = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], np.float16)
arrays["extreme16|logits"] = h
arrays["extreme16|ce"] = F.cross_entropy(torch.from_numpy(h).double(), torch.tensor([1, 1]), reduction="none").numpy()
arrays["extreme16|bce_logits"] = F.binary_cross_entropy_with_logits(
    torch.from_numpy(h).double(), torch.ones(2, 3, dtype=torch.float64), reduction="none").numpy()

# ---- functional odds and ends ----------------------------------------------------------------
xf = r.standard_normal((2, 3, 4))
arrays["functional|pad|x"] = xf
arrays["functional|pad|out"] = F.pad(torch.from_numpy(xf), (1, 2, 0, 1), value=0.5).numpy()
ids = np.array([[0, 3], [2, 1]], np.int64)
arrays["functional|one_hot|ids"] = ids
arrays["functional|one_hot|out"] = F.one_hot(torch.from_numpy(ids), 5).numpy()
arrays["functional|one_hot|auto"] = F.one_hot(torch.from_numpy(ids)).numpy()
arrays["functional|softmax_implicit|x"] = xf
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    arrays["functional|softmax_implicit|out"] = F.softmax(torch.from_numpy(xf)).numpy()
xb = r.standard_normal((4, 3, 2))
rm, rv = r.standard_normal(3), r.uniform(0.5, 2, 3)
arrays["functional|batch_norm|x"], arrays["functional|batch_norm|rm"], arrays["functional|batch_norm|rv"] = xb, rm, rv
rmt, rvt = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
arrays["functional|batch_norm|train_out"] = F.batch_norm(torch.from_numpy(xb), rmt, rvt, training=True, momentum=0.3).numpy()
arrays["functional|batch_norm|rm_after"], arrays["functional|batch_norm|rv_after"] = rmt.numpy(), rvt.numpy()
arrays["functional|batch_norm|eval_out"] = F.batch_norm(torch.from_numpy(xb), torch.from_numpy(rm), torch.from_numpy(rv)).numpy()

# scaled_dot_product_attention: a boolean mask (True = attend), and causal
q, k, v = (r.standard_normal(s) for s in ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)))
m = r.random((2, 1, 3, 5)) > 0.3
m[..., 0] = True
for i, a in enumerate((q, k, v, m)):
    arrays[f"functional|sdpa|{i}"] = a
arrays["functional|sdpa|masked"] = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)),
                                                                  attn_mask=torch.from_numpy(m)).numpy()
arrays["functional|sdpa|causal"] = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, q, q[..., :3])),
                                                                  is_causal=True, scale=0.3).numpy()

# ---- nn.utils: clipping (returned norms and clipped gradients) and parameter vectors
grads = [r.standard_normal((3, 4)), r.standard_normal(5)]
for i, g in enumerate(grads):
    arrays[f"utils|grad|{i}"] = g
for tag, kw in (("norm2", dict(max_norm=1.0)), ("norm_inf", dict(max_norm=0.5, norm_type=float("inf"))),
                ("norm1_noclip", dict(max_norm=100.0, norm_type=1.0))):
    ps = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p_, g in zip(ps, grads):
        p_.grad = torch.from_numpy(g.copy())
    total = torch.nn.utils.clip_grad_norm_(ps, **kw)
    arrays[f"utils|{tag}|total"] = total.numpy()
    for i, p_ in enumerate(ps):
        arrays[f"utils|{tag}|{i}"] = p_.grad.numpy().copy()
ps = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
for p_, g in zip(ps, grads):
    p_.grad = torch.from_numpy(g.copy())
torch.nn.utils.clip_grad_value_(ps, 0.4)
for i, p_ in enumerate(ps):
    arrays[f"utils|value|{i}"] = p_.grad.numpy().copy()
ps = [torch.nn.Parameter(torch.from_numpy(g.copy())) for g in grads]
arrays["utils|vector"] = torch.nn.utils.parameters_to_vector(ps).detach().numpy()

# ---- a real PyTorch checkpoint: torch.save(model.state_dict()) of a float32 CNN whose BatchNorm
# has run a few training batches, and its eval-mode outputs (tinydl reads the .pt without torch)
torch.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                    nn.Linear(4 * 3 * 3, 5)).float()
with torch.no_grad():
    for _ in range(3):
        cnn(torch.from_numpy(r.standard_normal((8, 2, 6, 6)).astype(np.float32)))
cnn.eval()
xc = r.standard_normal((3, 2, 6, 6)).astype(np.float32)
arrays["checkpoint|x"] = xc
with torch.no_grad():
    arrays["checkpoint|out"] = cnn(torch.from_numpy(xc)).numpy()
torch.save(cnn.state_dict(), os.path.join(HERE, "torch_nn_cnn.pt"))

# ---- init: statistics of large draws and exact fills -----------------------------------------
def init_stats(name, shape, call):
    t = torch.empty(shape)
    torch.manual_seed(0)
    eval(call, {"nn": nn, "t": t, "math": math})
    a = t.numpy()
    meta["init"][name] = {"shape": list(shape), "call": call, "mean": float(a.mean()), "std": float(a.std()),
                          "min": float(a.min()), "max": float(a.max())}


init_stats("uniform_", (200, 300), "nn.init.uniform_(t, -0.3, 0.7)")
init_stats("normal_", (200, 300), "nn.init.normal_(t, 0.2, 1.5)")
init_stats("trunc_normal_", (200, 300), "nn.init.trunc_normal_(t, 0.1, 1.0, -1.0, 1.5)")
init_stats("xavier_uniform_", (64, 32, 3, 3), "nn.init.xavier_uniform_(t, gain=2.0)")
init_stats("xavier_normal_", (64, 32, 3, 3), "nn.init.xavier_normal_(t)")
init_stats("kaiming_uniform_", (64, 32, 3, 3), "nn.init.kaiming_uniform_(t, a=math.sqrt(5))")
init_stats("kaiming_uniform_fan_out", (64, 32, 3, 3), "nn.init.kaiming_uniform_(t, mode='fan_out', nonlinearity='relu')")
init_stats("kaiming_normal_", (64, 32, 3, 3), "nn.init.kaiming_normal_(t, a=0.1, nonlinearity='leaky_relu')")
init_stats("constant_", (5, 4), "nn.init.constant_(t, 0.25)")
init_stats("ones_", (5, 4), "nn.init.ones_(t)")
init_stats("zeros_", (5, 4), "nn.init.zeros_(t)")
init_stats("eye_", (5, 4), "nn.init.eye_(t)")
init_stats("orthogonal_", (30, 50), "nn.init.orthogonal_(t, gain=1.5)")
meta["init"]["gains"] = {k: nn.init.calculate_gain(*k.split(",")[:1], *( [float(k.split(",")[1])] if "," in k else []))
                         for k in ["linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "leaky_relu,0.2", "selu"]}
# default initialisation of each layer: the bound of the uniform draw (max |w| over a large layer)
lin = nn.Linear(400, 300)
meta["init"]["linear_default"] = {"weight_absmax": float(lin.weight.abs().max()), "bias_absmax": float(lin.bias.abs().max()),
                                  "bound": 1 / math.sqrt(400)}

# Packed into one flat buffer per dtype (a zip entry per array would cost more than the data).
version = arrays.pop("__version__")
packed, index = {}, {}
for key, a in arrays.items():
    a = np.asarray(a)
    dt = a.dtype.str.lstrip("<|=")
    buf = packed.setdefault(dt, [])
    offset = sum(b.size for b in buf)
    buf.append(a.ravel())
    index[key] = [dt, offset, list(a.shape)]
meta["index"] = index
np.savez_compressed(os.path.join(HERE, "torch_nn.npz"), __version__=version,
                    **{dt: np.concatenate(bufs) for dt, bufs in packed.items()})
with open(os.path.join(HERE, "torch_nn.json"), "w") as f:
    json.dump(meta, f, indent=1, sort_keys=True)
print("wrote", len(arrays), "arrays;", os.path.getsize(os.path.join(HERE, "torch_nn.npz")), "bytes")
