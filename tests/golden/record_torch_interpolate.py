"""Record PyTorch 2.13 values of ``F.interpolate`` / ``nn.Upsample`` for
tests/test_torch_interpolate.py: outputs and input gradients (float64 and float32) for each mode,
sizes and scale factors (fractional ones included), align_corners and recompute_scale_factor.

Run from the repository root under the oracle extra: ``python tests/golden/record_torch_interpolate.py``.
Needs PyTorch and NumPy only; writes tests/golden/torch_interpolate.npz and torch_interpolate.json.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, input shape, keyword arguments of F.interpolate)
CASES = [
    ("nearest_1d_size", (2, 3, 5), dict(size=8)),
    ("nearest_1d_down", (1, 2, 9), dict(size=4)),
    ("nearest_2d_scale2", (2, 2, 3, 4), dict(scale_factor=2)),
    ("nearest_2d_frac", (1, 3, 5, 7), dict(scale_factor=(1.7, 0.6))),
    ("nearest_2d_frac_recompute", (1, 3, 5, 7), dict(scale_factor=(1.7, 0.6), recompute_scale_factor=True)),
    ("nearest_2d_size", (1, 2, 6, 9), dict(size=(14, 10))),
    ("nearest_exact_2d", (1, 2, 5, 6), dict(size=(7, 4), mode="nearest-exact")),
    ("nearest_3d", (1, 2, 3, 4, 2), dict(scale_factor=(2, 1.5, 3))),
    ("linear_1d", (2, 3, 5), dict(size=11, mode="linear")),
    ("linear_1d_align", (2, 3, 5), dict(size=11, mode="linear", align_corners=True)),
    ("linear_1d_down", (1, 2, 10), dict(scale_factor=0.35, mode="linear")),
    ("bilinear_scale2", (2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ("bilinear_align", (2, 3, 4, 5), dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ("bilinear_frac", (1, 2, 6, 5), dict(scale_factor=(1.3, 2.6), mode="bilinear")),
    ("bilinear_frac_recompute", (1, 2, 6, 5), dict(scale_factor=(1.3, 2.6), mode="bilinear",
                                                   recompute_scale_factor=True)),
    ("bilinear_down", (1, 2, 9, 8), dict(size=(4, 3), mode="bilinear")),
    ("bilinear_to_one", (1, 1, 4, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    ("trilinear", (1, 2, 3, 4, 3), dict(size=(5, 6, 4), mode="trilinear")),
    ("area_2d", (1, 2, 7, 9), dict(size=(3, 4), mode="area")),
]


def main():
    arrays, meta = {"__version__": np.array(torch.__version__)}, {"__version__": torch.__version__, "cases": {}}
    for k, (name, shape, kwargs) in enumerate(CASES):
        rng = np.random.default_rng(1000 + k)
        x = rng.normal(size=shape)
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            xt = torch.tensor(x, dtype=dtype, requires_grad=True)
            y = F.interpolate(xt, **kwargs)
            g = rng.normal(size=tuple(y.shape))
            (y * torch.tensor(g, dtype=dtype)).sum().backward()
            arrays[f"{name}|{tag}|x"] = x.astype(np.float64 if tag == "f64" else np.float32)
            arrays[f"{name}|{tag}|y"] = y.detach().numpy()
            arrays[f"{name}|{tag}|g"] = g.astype(np.float64 if tag == "f64" else np.float32)
            arrays[f"{name}|{tag}|gx"] = xt.grad.numpy()
        meta["cases"][name] = kwargs
    np.savez_compressed(os.path.join(HERE, "torch_interpolate.npz"), **arrays)
    with open(os.path.join(HERE, "torch_interpolate.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
