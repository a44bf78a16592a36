"""Record PyTorch's tensor API on NumPy-generated inputs: outputs (values, dtypes, shapes, index
outputs), gradients, and which calls raise. Run from the repository root with PyTorch 2.13 CPU:

    python tests/golden/record_torch_tensor.py

Each case is a Python expression in ``torch`` and its inputs; the expression text is stored in
torch_tensor.json, so tests/test_torch_tensor.py evaluates the very same text with
``torch = tinydl``. Writes torch_tensor.npz (arrays) and torch_tensor.json (cases, dtypes, errors).
"""
import json
import pathlib

import numpy as np
import torch

HERE = pathlib.Path(__file__).parent
F32, F64, I64, B = "float32", "float64", "int64", "bool"


def case(name, expr, grad=(), raises=None, **inputs):
    """inputs: name -> (kind, shape, dtype) (the input named ``a`` stays a NumPy array); kind: randn, pos (0.5..2), unit (-0.9..0.9), int<k>,
    bool, or a literal list."""
    return {"name": name, "expr": expr, "grad": list(grad), "raises": raises, "inputs": inputs}


X = ("randn", [3, 4], F32)
X3 = ("randn", [2, 3, 4], F32)
V = ("randn", [5], F32)
P = ("pos", [3, 4], F32)
U = ("unit", [3, 4], F32)
X64 = ("randn", [3, 4], F64)
XI = ("int7", [3, 4], I64)
IDX = ("int4", [3, 2], I64)  # gather indices along dim 1 of X
SEL = ([2, 0, 2], None, I64)
MASK = ("bool", [3, 4], B)

CASES = [
    # creation and dtypes
    case("tensor_list", "torch.tensor([[1.0, 2.0], [3.0, 4.5]])"),
    case("tensor_int", "torch.tensor([1, 2, 3])"),
    case("tensor_bool", "torch.tensor([True, False])"),
    case("tensor_ndarray", "torch.tensor(a)", a=X64),
    case("tensor_dtype", "torch.tensor([1, 2], dtype=torch.float64)"),
    case("as_tensor", "torch.as_tensor(a, dtype=torch.float32)", a=X64),
    case("from_numpy", "torch.from_numpy(a)", a=XI),
    case("zeros_varargs", "torch.zeros(2, 3)"),
    case("zeros_tuple", "torch.zeros((2, 3), dtype=torch.int64)"),
    case("ones", "torch.ones(3, dtype=torch.float64)"),
    case("full_float", "torch.full((2, 2), 1.5)"),
    case("full_int", "torch.full((2,), 7)"),
    case("full_bool", "torch.full((2,), True)"),
    case("zeros_like", "torch.zeros_like(x)", x=XI),
    case("ones_like_dtype", "torch.ones_like(x, dtype=torch.float64)", x=X),
    case("full_like", "torch.full_like(x, 2.5)", x=X),
    case("empty_shape", "torch.empty(2, 5).shape"),
    case("arange_int", "torch.arange(5)"),
    case("arange_start_step", "torch.arange(1, 10, 3)"),
    case("arange_float", "torch.arange(0, 1, 0.25)"),
    case("arange_neg", "torch.arange(5, 0, -2)"),
    case("linspace", "torch.linspace(-1, 1, 7)"),
    case("linspace_f64", "torch.linspace(0, 3, 4, dtype=torch.float64)"),
    case("eye", "torch.eye(3)"),
    case("eye_rect", "torch.eye(2, 4, dtype=torch.int64)"),
    case("numel", "torch.numel(x)", x=X3),
    case("is_tensor", "torch.is_tensor(x)", x=X),
    case("default_dtype", "str(torch.get_default_dtype()).replace('torch.', '')"),
    case("rand_shape", "torch.rand(2, 3).shape"),
    case("randn_dtype", "str(torch.randn(2, dtype=torch.float64).dtype).replace('torch.', '')"),
    case("randint_range", "bool(((torch.randint(2, 5, (50,)) >= 2) & (torch.randint(2, 5, (50,)) < 5)).all())"),
    case("randperm_sorted", "torch.sort(torch.randperm(6)).values"),
    case("from_numpy_list", "torch.from_numpy([1, 2])", raises="TypeError"),
    # conversions
    case("float", "x.float()", x=XI),
    case("double", "x.double()", grad=["x"], x=X),
    case("long", "x.long()", x=X),
    case("int", "x.int()", x=X),
    case("bool", "x.bool()", x=XI),
    case("half", "x.half()", x=X),
    case("to_dtype", "x.to(torch.float64)", grad=["x"], x=X),
    case("to_other", "x.to(y)", x=XI, y=X64),
    case("to_cpu_dtype", "x.to('cpu', torch.int32)", x=X),
    case("type_dtype", "x.type(torch.int64)", x=X),
    case("type_str", "x.type()", x=X),
    case("item", "x[1, 2].item()", x=X),
    case("item_many", "x.item()", raises="RuntimeError", x=X),
    case("tolist", "x.tolist()", x=XI),
    case("clone", "x.clone() * 2", grad=["x"], x=X),
    case("detach", "x.detach()", x=X),
    case("numpy_requires_grad", "x.numpy()", raises="RuntimeError", grad=["x"], x=X),
    case("float_builtin", "float(x[0, 0])", x=X),
    case("int_builtin", "int(x[0, 1])", x=XI),
    # shape
    case("size", "x.size()", x=X3),
    case("size_dim", "x.size(-1)", x=X3),
    case("shape", "x.shape", x=X3),
    case("dim", "x.dim()", x=X3),
    case("ndim", "x.ndim", x=X3),
    case("numel_method", "x.numel()", x=X3),
    case("t", "x.t()", grad=["x"], x=X),
    case("T", "x.T", grad=["x"], x=X),
    case("t_3d", "x.t()", raises="RuntimeError", x=X3),
    case("view", "x.view(4, -1)", grad=["x"], x=X3),
    case("view_tuple", "x.view((2, 12))", x=X3),
    case("view_noncontig", "x.transpose(0, 1).view(-1)", raises="RuntimeError", x=X),
    case("view_bad", "x.view(5, -1)", raises="RuntimeError", x=X),
    case("reshape", "torch.reshape(x, (6, -1))", grad=["x"], x=X3),
    case("reshape_noncontig", "x.transpose(0, 1).reshape(-1)", grad=["x"], x=X),
    case("permute", "x.permute(2, 0, 1)", grad=["x"], x=X3),
    case("permute_fn", "torch.permute(x, (1, 2, 0))", x=X3),
    case("transpose", "x.transpose(0, 1)", grad=["x"], x=X),
    case("transpose_fn", "torch.transpose(x, 1, -1)", grad=["x"], x=X3),
    case("transpose_noargs", "x.transpose()", raises="TypeError", x=X),
    case("flatten", "x.flatten()", x=X3),
    case("flatten_start", "torch.flatten(x, 1)", grad=["x"], x=X3),
    case("flatten_range", "x.flatten(0, 1)", x=X3),
    case("unflatten", "x.unflatten(1, (2, 2))", grad=["x"], x=X),
    case("squeeze", "x.view(3, 1, 4, 1).squeeze()", x=X),
    case("squeeze_dim", "x.view(3, 1, 4).squeeze(1)", x=X),
    case("squeeze_non1", "x.squeeze(0)", x=X),
    case("unsqueeze", "x.unsqueeze(1)", grad=["x"], x=X),
    case("unsqueeze_neg", "torch.unsqueeze(x, -1)", x=X),
    case("expand", "x.view(3, 1, 4).expand(3, 2, 4)", grad=["x"], x=X),
    case("expand_minus1", "x.view(3, 1, 4).expand(2, -1, 5, -1)", grad=["x"], x=X),
    case("expand_bad", "x.expand(3, 5)", raises="RuntimeError", x=X),
    case("expand_as", "v.view(1, 5).expand_as(w)", grad=["v"], v=V, w=("randn", [3, 5], F32)),
    case("repeat", "x.repeat(2, 3)", grad=["x"], x=X),
    case("repeat_newdim", "v.repeat(2, 1, 2)", grad=["v"], v=V),
    case("repeat_bad", "x.repeat(2)", raises="RuntimeError", x=X),
    case("cat", "torch.cat([x, y], dim=0)", grad=["x", "y"], x=X, y=("randn", [2, 4], F32)),
    case("cat_dim1", "torch.cat((x, x), 1)", grad=["x"], x=X),
    case("concat", "torch.concat([x, x], dim=-1)", x=X),
    case("cat_bad", "torch.cat([x, x.t()])", raises="RuntimeError", x=X),
    case("stack", "torch.stack([x, y], dim=1)", grad=["x", "y"], x=X, y=X),
    case("stack_bad", "torch.stack([x, x.t()])", raises="RuntimeError", x=X),
    case("chunk", "x.chunk(3, dim=1)", grad=["x"], x=("randn", [3, 5], F32)),
    case("chunk_fn", "torch.chunk(torch.arange(6), 4)"),
    case("split_size", "torch.split(x, 2)", grad=["x"], x=("randn", [5, 2], F32)),
    case("split_sizes", "x.split([1, 3], dim=1)", grad=["x"], x=X),
    case("split_bad_sizes", "torch.split(x, [2, 2])", raises="RuntimeError", x=("randn", [5], F32)),
    case("contiguous", "x.t().contiguous().view(-1)", grad=["x"], x=X),
    case("narrow", "x.narrow(1, 1, 2)", grad=["x"], x=X),
    case("flip", "torch.flip(x, [0, 1])", grad=["x"], x=X),
    case("flip_method", "x.flip(1)", x=X),
    case("roll", "torch.roll(x, 1, 1)", grad=["x"], x=X),
    case("roll_flat", "x.roll(5)", x=X),
    case("roll_multi", "x.roll((1, -1), (0, 1))", x=X),
    case("unbind", "x.unbind(1)", grad=["x"], x=X),
    # reductions
    case("sum", "x.sum()", grad=["x"], x=X),
    case("sum_dim", "x.sum(dim=1, keepdim=True)", grad=["x"], x=X),
    case("sum_dims", "torch.sum(x, (0, 2))", grad=["x"], x=X3),
    case("sum_axis_alias", "x.sum(axis=0, keepdims=True)", x=X),
    case("sum_int", "x.sum(0)", x=XI),
    case("sum_bool", "(x > 0).sum()", x=X),
    case("mean", "x.mean()", grad=["x"], x=X),
    case("mean_dim", "x.mean(-1)", grad=["x"], x=X3),
    case("mean_int", "x.mean()", raises="RuntimeError", x=XI),
    case("prod", "x.prod()", grad=["x"], x=U),
    case("prod_dim", "torch.prod(x, 1, keepdim=True)", grad=["x"], x=X),
    case("prod_zero", "(x * torch.tensor([1.0, 0.0, 1.0, 1.0])).prod(1)", grad=["x"], x=X),
    case("max_all", "x.max()", grad=["x"], x=X),
    case("max_dim", "x.max(1)", grad=["x"], x=X),
    case("max_dim_keep", "torch.max(x, dim=0, keepdim=True)", grad=["x"], x=X),
    case("max_index_1", "x.max(1)[1]", x=X),
    case("max_indices_attr", "x.max(dim=1).indices", x=X),
    case("max_elementwise", "torch.max(x, y)", grad=["x", "y"], x=X, y=X),
    case("min_dim", "x.min(0)", grad=["x"], x=X),
    case("min_all", "torch.min(x)", x=XI),
    case("amax", "x.amax(dim=(0, 1))", grad=["x"], x=X3),
    case("amin", "torch.amin(x, 1, True)", grad=["x"], x=X),
    case("argmax", "x.argmax()", x=X),
    case("argmax_dim", "torch.argmax(x, dim=1, keepdim=True)", x=X),
    case("argmin_dim", "x.argmin(0)", x=X),
    case("std", "x.std()", grad=["x"], x=X),
    case("std_dim", "x.std(1)", grad=["x"], x=X),
    case("std_unbiased_false", "x.std(1, unbiased=False)", grad=["x"], x=X),
    case("std_correction", "torch.std(x, dim=0, correction=0, keepdim=True)", x=X),
    case("var", "x.var()", grad=["x"], x=X),
    case("var_dims", "torch.var(x, (0, 2), keepdim=True)", grad=["x"], x=X3),
    case("var_correction2", "x.var(1, correction=2)", x=X),
    case("var_unbiased_pos", "x.var(False)", x=X),
    case("norm", "x.norm()", grad=["x"], x=X),
    case("norm_zero_rows", "[(x * m).norm(dim=1), (x * m).norm(p=3, dim=1), (x * m).norm()]", grad=["x"], x=X,
         m=([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]], [3, 4], F32)),
    case("norm_dim", "torch.norm(x, dim=1)", grad=["x"], x=X),
    case("norm_p1", "x.norm(p=1, dim=0, keepdim=True)", grad=["x"], x=X),
    case("norm_p3", "x.norm(3)", grad=["x"], x=X),
    case("norm_inf", "x.norm(float('inf'))", x=X),
    case("logsumexp", "torch.logsumexp(x, dim=1)", grad=["x"], x=X),
    case("logsumexp_keep", "x.logsumexp((0, 1), keepdim=True)", grad=["x"], x=X3),
    case("cumsum", "torch.cumsum(x, dim=1)", grad=["x"], x=X),
    case("cumsum_0", "x.cumsum(0)", grad=["x"], x=X),
    case("cumsum_int", "x.cumsum(1)", x=XI),
    case("all", "(x > -5).all()", x=X),
    case("any_dim", "(x > 1).any(dim=1)", x=X),
    case("all_dim_keep", "torch.all(x > 0, 0, keepdim=True)", x=X),
    case("sort", "x.sort(1)", grad=["x"], x=X),
    case("sort_desc", "torch.sort(x, dim=0, descending=True)", grad=["x"], x=X),
    case("argsort", "x.argsort(dim=1)", x=X),
    case("topk", "x.topk(2)", grad=["x"], x=X),
    case("topk_smallest", "torch.topk(x, 2, dim=0, largest=False)", grad=["x"], x=X),
    case("mode", "x.mode(1)", x=("int3", [3, 7], I64)),
    case("mode_float", "torch.mode(x, 0)", grad=["x"], x=("int3", [6, 2], F32)),
    case("median_all", "x.median()", grad=["x"], x=X),
    case("median_dim", "x.median(1)", grad=["x"], x=X),
    case("median_dim_even", "torch.median(x, dim=0)", grad=["x"], x=X),
    case("kthvalue", "x.kthvalue(2, 1)", grad=["x"], x=X),
    # indexing
    case("gather", "torch.gather(x, 1, idx)", grad=["x"], x=X, idx=IDX),
    case("gather_method_dim0", "x.gather(0, idx)", grad=["x"], x=X, idx=("int3", [2, 4], I64)),
    case("gather_repeat", "x.gather(1, torch.tensor([[0, 0, 0], [1, 1, 3], [2, 2, 2]]))", grad=["x"], x=X),
    case("gather_oob", "x.gather(1, torch.tensor([[0], [4], [1]]))", raises="RuntimeError", x=X),
    case("scatter", "x.scatter(1, torch.tensor([[0, 1], [2, 3], [1, 0]]), y)", grad=["x", "y"], x=X,
         y=("randn", [3, 2], F32)),
    case("scatter_value", "torch.zeros(3, 5).scatter(1, torch.tensor([[1], [3], [0]]), 1.0)"),
    case("scatter_onehot_", "torch.zeros(4, 3).scatter_(1, torch.tensor([[2], [0], [1], [2]]), 1)"),
    case("scatter_add", "x.scatter_add(0, torch.tensor([[0, 1, 2, 0], [0, 0, 0, 0]]), y)", grad=["x", "y"],
         x=X, y=("randn", [2, 4], F32)),
    case("index_select", "torch.index_select(x, 0, sel)", grad=["x"], x=X, sel=SEL),
    case("index_select_dim1", "x.index_select(1, torch.tensor([3, 3, 0]))", grad=["x"], x=X),
    case("masked_fill", "x.masked_fill(m, -1.0)", grad=["x"], x=X, m=MASK),
    case("masked_fill_bcast", "x.masked_fill(torch.tensor([True, False, False, True]), 0.5)", grad=["x"], x=X),
    case("masked_select", "torch.masked_select(x, m)", grad=["x"], x=X, m=MASK),
    case("where", "torch.where(m, x, y)", grad=["x", "y"], x=X, y=X, m=MASK),
    case("where_scalar", "torch.where(x > 0, x, 0.0)", grad=["x"], x=X),
    case("where_method", "x.where(m, y)", grad=["x", "y"], x=X, y=X, m=MASK),
    case("bool_mask", "x[m]", grad=["x"], x=X, m=MASK),
    case("bool_mask_expr", "x[x > 0]", grad=["x"], x=X),
    case("fancy_tensor", "x[sel]", grad=["x"], x=X, sel=SEL),
    case("fancy_list", "x[[0, 2]]", grad=["x"], x=X),
    case("fancy_pair", "x[[0, 2], [1, 3]]", grad=["x"], x=X),
    case("fancy_mixed", "x[1:, sel]", grad=["x"], x=X, sel=SEL),
    case("setitem", "(lambda z: (z.__setitem__((0, slice(None)), 5.0), z)[1])(x.clone())", x=X),
    case("setitem_mask", "(lambda z: (z.__setitem__(z < 0, 0.0), z)[1])(x.clone())", x=X),
    case("nonzero", "torch.nonzero(x > 0)", x=X),
    # math
    case("pow", "x.pow(2)", grad=["x"], x=X),
    case("pow_tensor", "torch.pow(x, y)", grad=["x", "y"], x=P, y=X),
    case("sqrt", "torch.sqrt(x)", grad=["x"], x=P),
    case("sqrt_int", "torch.sqrt(x)", x=("int7", [4], I64)),
    case("rsqrt", "x.rsqrt()", grad=["x"], x=P),
    case("exp", "x.exp()", grad=["x"], x=X),
    case("log", "torch.log(x)", grad=["x"], x=P),
    case("log1p", "x.log1p()", grad=["x"], x=P),
    case("expm1", "torch.expm1(x)", grad=["x"], x=X),
    case("log2", "x.log2()", grad=["x"], x=P),
    case("log10", "torch.log10(x)", grad=["x"], x=P),
    case("sin", "x.sin()", grad=["x"], x=X),
    case("cos", "torch.cos(x)", grad=["x"], x=X),
    case("tan", "x.tan()", grad=["x"], x=U),
    case("asin", "torch.asin(x)", grad=["x"], x=U),
    case("acos", "x.acos()", grad=["x"], x=U),
    case("atan", "torch.atan(x)", grad=["x"], x=X),
    case("atan2", "torch.atan2(x, y)", grad=["x", "y"], x=X, y=X),
    case("sinh", "x.sinh()", grad=["x"], x=X),
    case("cosh", "torch.cosh(x)", grad=["x"], x=X),
    case("tanh", "x.tanh()", grad=["x"], x=X),
    case("sigmoid", "torch.sigmoid(x)", grad=["x"], x=X),
    case("relu", "x.relu()", grad=["x"], x=X),
    case("clamp", "x.clamp(-0.5, 0.5)", grad=["x"], x=X),
    case("clamp_min", "torch.clamp(x, min=0.1)", grad=["x"], x=X),
    case("clamp_max_only", "x.clamp(max=0.2)", grad=["x"], x=X),
    case("clamp_tensor", "torch.clamp(x, min=y, max=y + 1.0)", grad=["x", "y"], x=X, y=X),
    case("clamp_none", "torch.clamp(x)", raises="RuntimeError", x=X),
    case("clip", "torch.clip(x, -1, 1)", grad=["x"], x=X),
    case("abs", "x.abs()", grad=["x"], x=X),
    case("sign", "torch.sign(x)", grad=["x"], x=X),
    case("floor", "x.floor()", grad=["x"], x=X),
    case("ceil", "torch.ceil(x)", grad=["x"], x=X),
    case("round", "torch.round(x * 2)", grad=["x"], x=X),
    case("round_half_even", "torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5]))"),
    case("round_decimals", "torch.round(x, decimals=2)", x=X),
    case("trunc", "x.trunc()", grad=["x"], x=X),
    case("triu", "x.triu()", grad=["x"], x=X),
    case("triu_diag", "torch.triu(x, diagonal=1)", grad=["x"], x=X),
    case("tril", "torch.tril(x, -1)", grad=["x"], x=X),
    case("tril_batched", "x.tril()", grad=["x"], x=X3),
    case("matmul", "torch.matmul(x, y)", grad=["x", "y"], x=X, y=("randn", [4, 2], F32)),
    case("matmul_batched", "x @ y", grad=["x", "y"], x=X3, y=("randn", [4, 2], F32)),
    case("mm", "torch.mm(x, y)", grad=["x", "y"], x=X, y=("randn", [4, 2], F32)),
    case("mm_bad", "torch.mm(x, x)", raises="RuntimeError", x=X),
    case("bmm", "torch.bmm(x, y)", grad=["x", "y"], x=X3, y=("randn", [2, 4, 3], F32)),
    case("bmm_bad", "x.bmm(x)", raises="RuntimeError", x=X),
    case("einsum_mm", "torch.einsum('ij,jk->ik', x, y)", grad=["x", "y"], x=X, y=("randn", [4, 2], F32)),
    case("einsum_batch", "torch.einsum('bij,bjk->bik', x, y)", grad=["x", "y"], x=X3, y=("randn", [2, 4, 3], F32)),
    case("einsum_sum", "torch.einsum('ij->j', x)", grad=["x"], x=X),
    case("einsum_implicit", "torch.einsum('ij,kj', x, y)", grad=["x", "y"], x=X, y=X),
    case("einsum_outer", "torch.einsum('i,j->ij', v, v)", grad=["v"], v=V),
    case("outer", "torch.outer(v, w)", grad=["v", "w"], v=V, w=("randn", [3], F32)),
    case("dot", "torch.dot(v, w)", grad=["v", "w"], v=V, w=V),
    case("dot_bad", "torch.dot(v, x)", raises="RuntimeError", v=V, x=X),
    case("maximum", "torch.maximum(x, y)", grad=["x", "y"], x=X, y=X),
    case("minimum", "x.minimum(y)", grad=["x", "y"], x=X, y=X),
    case("eq", "torch.eq(x, y)", x=XI, y=XI),
    case("ne", "x.ne(y)", x=XI, y=XI),
    case("lt", "torch.lt(x, 0.5)", x=X),
    case("le", "x.le(y)", x=XI, y=XI),
    case("gt", "x.gt(y)", x=X, y=X),
    case("ge", "torch.ge(x, 0)", x=XI),
    case("allclose", "torch.allclose(x, x + 1e-9)", x=X64),
    case("allclose_false", "x.allclose(x + 1e-3)", x=X64),
    case("isclose", "torch.isclose(x, y, atol=0.5)", x=X, y=X),
    case("equal", "torch.equal(x, x.clone())", x=X),
    case("equal_shape", "torch.equal(x, x.view(4, 3))", x=X),
    case("isnan", "torch.isnan(torch.tensor([1.0, float('nan'), float('inf')]))"),
    case("isinf", "torch.tensor([1.0, float('nan'), -float('inf')]).isinf()"),
    case("isfinite", "torch.isfinite(torch.tensor([1.0, float('nan'), float('inf')]))"),
    case("add_alpha", "torch.add(x, y, alpha=2)", grad=["x", "y"], x=X, y=X),
    case("sub_alpha", "x.sub(y, alpha=0.5)", grad=["x", "y"], x=X, y=X),
    case("mul_method", "x.mul(y)", grad=["x", "y"], x=X, y=X),
    case("div_floor", "torch.div(x, 2, rounding_mode='floor')", x=XI),
    case("div_trunc", "torch.div(x, y, rounding_mode='trunc')", x=X, y=P),
    case("softmax_method", "x.softmax(dim=1)", grad=["x"], x=X),
    case("log_softmax_method", "x.log_softmax(0)", grad=["x"], x=X),
    # in-place
    case("add_", "x.clone().add_(y, alpha=3)", x=X, y=X),
    case("mul_", "x.clone().mul_(2)", x=X),
    case("sub_", "x.clone().sub_(y)", x=X, y=X),
    case("zero_", "x.clone().zero_()", x=X),
    case("fill_", "x.clone().fill_(3)", x=X),
    case("clamp_", "x.clone().clamp_(min=0)", x=X),
    case("copy_", "x.clone().copy_(y)", x=X, y=XI),
    case("normal_stats", "[round(float(v), 1) for v in torch.std_mean(torch.zeros(20000).normal_(2.0, 0.5))]"),
    case("uniform_range", "bool(((lambda u: (u >= -1) & (u < 3))(torch.zeros(1000).uniform_(-1, 3))).all())"),
    case("leaf_inplace", "x.add_(1)", raises="RuntimeError", grad=["x"], x=X),
    # more names, one call each
    case("abs_fn", "torch.abs(x) + torch.absolute(x)", grad=["x"], x=X),
    case("trig_fns", "[torch.acos(x), torch.arccos(x), torch.arcsin(x), torch.arctan(x), torch.tan(x), torch.sin(x), "
         "torch.sinh(x), torch.tanh(x)]", grad=["x"], x=U),
    case("arctan2_fn", "torch.arctan2(x, y)", grad=["x", "y"], x=X, y=X),
    case("amax_fn", "torch.amax(x, 0)", grad=["x"], x=X),
    case("any_fn", "torch.any(x > 1)", x=X),
    case("argmin_fn", "torch.argmin(x, 1)", x=X),
    case("argsort_fn", "torch.argsort(x, dim=0, descending=True)", x=X),
    case("clamp_min_max_fn", "torch.clamp_min(x, 0.0) + torch.clamp_max(x, 0.3)", grad=["x"], x=X),
    case("concatenate_fn", "torch.concatenate([x, x], axis=1)", x=X),
    case("count_nonzero", "(torch.count_nonzero(x > 0), x.count_nonzero(dim=0))", x=X),
    case("divide_fns", "[torch.divide(x, y), torch.true_divide(x, y), torch.mul(x, y), torch.multiply(x, y), "
         "torch.sub(x, y), torch.subtract(x, y, alpha=2)]", grad=["x", "y"], x=X, y=P),
    case("empty_like_shape", "torch.empty_like(x).shape", x=X3),
    case("exp_fn", "torch.exp(x)", grad=["x"], x=X),
    case("dtype_names", "[str(d).replace('torch.', '') for d in (torch.float, torch.double, torch.half, torch.int, "
         "torch.long, torch.short, torch.int8, torch.int16, torch.uint8, torch.bool, torch.float16)]"),
    case("floor_fn", "torch.floor(x) + torch.trunc(x)", x=X),
    case("compare_fns", "[torch.gt(x, y), torch.greater(x, y), torch.greater_equal(x, y), torch.le(x, y), "
         "torch.less(x, y), torch.less_equal(x, y), torch.ne(x, y), torch.not_equal(x, y)]", x=XI, y=XI),
    case("is_floating_point", "(torch.is_floating_point(x), torch.is_floating_point(y), x.is_floating_point())",
         x=X, y=XI),
    case("is_nonzero", "torch.is_nonzero(torch.tensor([1.5]))"),
    case("is_nonzero_many", "torch.is_nonzero(x)", raises="RuntimeError", x=X),
    case("isinf_fn", "torch.isinf(x / 0)", x=X),
    case("kthvalue_fn", "torch.kthvalue(x, 3, 0, True)", grad=["x"], x=("randn", [5, 3], F32)),
    case("log_fns", "[torch.log1p(x), torch.log2(x), torch.rsqrt(x), torch.reciprocal(x), x.reciprocal()]",
         grad=["x"], x=P),
    case("logical_fns", "[torch.logical_and(x > 0, y > 0), torch.logical_or(x > 0, y > 0), "
         "torch.logical_not(x > 0), (x > 0).logical_not(), (x > 0) & (y > 0), (x > 0) | (y > 0), ~(x > 0), (x > 0) ^ (y > 0)]",
         x=X, y=X),
    case("masked_fill_fn", "torch.masked_fill(x, m, 2.0)", grad=["x"], x=X, m=MASK),
    case("mean_fn", "torch.mean(x, (0, 1), True)", grad=["x"], x=X3),
    case("minimum_fn", "torch.minimum(x, y)", grad=["x", "y"], x=X, y=X),
    case("movedim", "[torch.movedim(x, 0, -1), x.movedim((0, 1), (2, 0))]", grad=["x"], x=X3),
    case("mv", "[torch.mv(x, v), x.mv(v)]", grad=["x", "v"], x=X, v=("randn", [4], F32)),
    case("narrow_fn", "torch.narrow(x, 0, -2, 2)", grad=["x"], x=X),
    case("neg_fns", "[torch.neg(x), torch.negative(x), x.neg(), -x]", grad=["x"], x=X),
    case("rand_like_shapes", "[torch.rand_like(x).shape, torch.randn_like(x).shape, torch.randn_like(x).dtype == x.dtype]",
         x=X64),
    case("relu_fn", "torch.relu(x)", grad=["x"], x=X),
    case("scatter_fns", "[torch.scatter(x, 0, torch.tensor([[1, 0, 2, 1]]), y[:1]), torch.scatter_add(x, 1, "
         "torch.tensor([[3], [3], [0]]), y[:, :1])]", grad=["x", "y"], x=X, y=("randn", [3, 4], F32)),
    case("square", "[torch.square(x), x.square()]", grad=["x"], x=X),
    case("squeeze_fn", "torch.squeeze(x.view(1, 3, 1, 4), (0, 2))", grad=["x"], x=X),
    case("swap_fns", "[torch.swapaxes(x, 0, 2), torch.swapdims(x, 1, 2), x.swapaxes(0, 1)]", grad=["x"], x=X3),
    case("t_fn", "[torch.t(x), torch.t(v)]", grad=["x"], x=X, v=V),
    case("take_along_dim", "[torch.take_along_dim(x, torch.argsort(x, 1), 1), x.take_along_dim(torch.tensor([0, 5]))]",
         grad=["x"], x=X),
    case("tensor_split", "[torch.tensor_split(x, 3, dim=1), x.tensor_split([1, 3], 1)]", grad=["x"], x=X),
    case("unbind_fn", "torch.unbind(x)", grad=["x"], x=X),
    case("unflatten_fn", "torch.unflatten(x, -1, (2, -1))", grad=["x"], x=X),
    case("var_mean", "[torch.var_mean(x, 1), torch.std_mean(x, dim=0, correction=0)]", grad=["x"], x=X),
    case("byte_char_short", "[x.byte(), x.char(), x.short()]", x=XI),
    case("element_size", "[x.element_size(), y.element_size()]", x=X, y=XI),
    case("contiguity", "[x.is_contiguous(), x.t().is_contiguous(), x.t().contiguous().is_contiguous()]", x=X),
    case("ndimension_nelement", "[x.ndimension(), x.nelement()]", x=X3),
    case("new_fns", "[x.new_zeros(2, 3), x.new_ones((2,)), x.new_full((2,), 4), x.new_tensor([1, 2]), "
         "x.new_empty(3).shape, y.new_zeros(2)]", x=X64, y=XI),
    case("as_methods", "[x.view_as(y), x.reshape_as(y), x.type_as(z)]", grad=["x"], x=X, y=("randn", [6, 2], F32),
         z=XI),
    case("scatter_add_", "torch.zeros(3, 3).scatter_add_(0, torch.tensor([[0, 1, 2], [0, 0, 0]]), torch.ones(2, 3))"),
    case("div_pow_", "[x.clone().div_(2), x.clone().pow_(2), x.clone().clip_(-0.1, 0.1), "
         "x.clone().masked_fill_(x > 0, 0.0)]", x=X),
    case("bool_len_iter", "[bool(x[0, 0] > 0), len(x), [r.shape for r in x]]", x=X),
    case("format", "f'{x[0, 0]:.3f}'", x=X),
    case("iter_0d", "list(x[0, 0])", raises="TypeError", x=X),
    case("bool_many", "bool(x)", raises="RuntimeError", x=X),
    case("masked_fill_int", "x.masked_fill(x > 3, 1.7)", x=XI),
    case("promotion", "[x * 2.5, x / 2, x / x, x * y, y - x, (x > 2) + y, (x > 2) * 3, x + y.double()]",
         x=XI, y=X),
    case("zero_dim_promotion", "[x * torch.tensor(2.0, dtype=torch.float64), y.int() + torch.tensor(3), "
         "y.int() + torch.tensor(1.5, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64) * torch.tensor(2.0), "
         "y.short() * torch.tensor(2), x.half() + torch.tensor(1.0)]", x=X, y=XI),
    case("where_promotion", "[torch.where(x > 3, x, 0.5), torch.where(x > 3, x, y)]", x=XI, y=X),
    case("floordiv_mod", "[x // 2, x % 3, 7 // (x + 1), 7 % (x + 1)]", x=XI),
    case("device_cpu", "[x.device.type, str(x.cpu().device), x.is_cuda, x.to('cpu') is x]", x=X),
]


def make_inputs(rng, inputs):
    arrays = {}
    for name, (kind, shape, dtype) in inputs.items():
        if isinstance(kind, list):
            arrays[name] = np.asarray(kind, dtype=dtype)
        elif kind == "randn":
            arrays[name] = rng.standard_normal(shape).astype(dtype)
        elif kind == "pos":
            arrays[name] = rng.uniform(0.5, 2.0, shape).astype(dtype)
        elif kind == "unit":
            arrays[name] = rng.uniform(-0.9, 0.9, shape).astype(dtype)
        elif kind.startswith("int"):
            arrays[name] = rng.integers(0, int(kind[3:]), shape).astype(dtype)
        elif kind == "bool":
            arrays[name] = rng.random(shape) < 0.5
        else:
            raise ValueError(kind)
    return arrays


def flatten(result):
    """A result as a list of leaves: tensors (as arrays), numbers, strings, bools, shapes."""
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, torch.Size):
        return [("shape", list(result))]
    if isinstance(result, (tuple, list)) and not (isinstance(result, list) and result and
                                                  not isinstance(result[0], (torch.Tensor, tuple, list))):
        return [leaf for r in result for leaf in flatten(r)]
    return [("value", result)]


def loss_weights(k, shape):
    """The fixed weights of output k in the scalar that is backpropagated (the test rebuilds them)."""
    return np.random.default_rng(7 + k).standard_normal(shape)


def run(torch_module, c, arrays):
    env = {"torch": torch_module}
    for name, a in arrays.items():
        if name == "a":  # `a` stays a NumPy array (for tensor/as_tensor/from_numpy)
            env[name] = a.copy()
            continue
        t = torch_module.tensor(a)
        if name in c["grad"]:
            t.requires_grad_(True)
        env[name] = t
    return env, eval(c["expr"], env)


def pack(store):
    """Many small arrays as one flat array per dtype (small fixture): key -> [dtype, offset, shape]."""
    flat, index = {"__version__": store.pop("__version__")}, {}
    for key, a in store.items():
        a = np.asarray(a)
        parts = flat.setdefault(a.dtype.name, [])
        offset = sum(p.size for p in parts)
        parts.append(a.reshape(-1))
        index[key] = [a.dtype.name, offset, list(a.shape)]
    for name in list(flat):
        if name != "__version__":
            flat[name] = np.concatenate(flat[name])
    return flat, index


def main():
    torch.manual_seed(0)
    store = {"__version__": np.array(torch.__version__)}
    meta = {"torch_version": torch.__version__, "cases": []}
    for i, c in enumerate(CASES):
        rng = np.random.default_rng(1000 + i)
        arrays = make_inputs(rng, c["inputs"])
        for name, a in arrays.items():
            store[f"{c['name']}/in/{name}"] = a
        entry = {k: c[k] for k in ("name", "expr", "grad", "raises")}
        entry["inputs"] = sorted(arrays)
        if c["raises"]:
            try:
                run(torch, c, arrays)
            except Exception as e:  # noqa: BLE001
                assert type(e).__name__ == c["raises"], (c["name"], type(e), e)
                entry["message"] = str(e).splitlines()[0]
            else:
                raise AssertionError(f"{c['name']}: PyTorch did not raise")
            meta["cases"].append(entry)
            continue
        env, result = run(torch, c, arrays)
        leaves, outs = flatten(result), []
        loss = 0
        for k, leaf in enumerate(leaves):
            if isinstance(leaf, torch.Tensor):
                store[f"{c['name']}/out/{k}"] = leaf.detach().numpy()
                outs.append({"kind": "tensor", "dtype": str(leaf.dtype).replace("torch.", ""),
                             "shape": list(leaf.shape)})
                if leaf.requires_grad:
                    w = loss_weights(k, leaf.shape)
                    loss = loss + (leaf * torch.tensor(w, dtype=leaf.dtype)).sum()
            else:
                outs.append({"kind": leaf[0], "value": leaf[1]})
        entry["outputs"] = outs
        if c["grad"]:
            loss.backward()
            for name in c["grad"]:
                g = env[name].grad
                store[f"{c['name']}/grad/{name}"] = np.zeros(arrays[name].shape, arrays[name].dtype) \
                    if g is None else g.detach().numpy()
        meta["cases"].append(entry)
    packed, meta["arrays"] = pack(store)
    np.savez_compressed(HERE / "torch_tensor.npz", **packed)
    lines = [json.dumps(c) for c in meta["cases"]]  # one case a line, the array index compact
    (HERE / "torch_tensor.json").write_text(
        f'{{"torch_version": {json.dumps(meta["torch_version"])},\n"arrays": {json.dumps(meta["arrays"], separators=(",", ":"))},\n'
        f'"cases": [\n' + ",\n".join(lines) + "\n]}\n")
    print(f"recorded {len(CASES)} cases with PyTorch {torch.__version__}")


if __name__ == "__main__":
    main()
