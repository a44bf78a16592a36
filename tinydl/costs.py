"""What an op costs: multiply-accumulates (MACs) and floating-point operations (FLOPs).

Counted from the shapes of one call, for the ops where the count is clear; None elsewhere (an
unknown cost is shown as unknown, never guessed). Conventions, as in Keras/PyTorch summaries and
bench/bench_cnn.py: a MAC is one multiply and one add; a matmul or convolution does 2 FLOPs per
MAC; bias additions are not MACs; an element-wise op does one FLOP per output element.
Backward: a matmul-like op does one matmul of the same size per input that needs a gradient.
"""
import math

from .core.graph_view import op_name

# ops that cost one FLOP per output element (forward)
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Abs", "Maximum",
                "Minimum", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Clip", "Where",
                "BiasAct"}
_REDUCTIONS = {"Sum", "Mean", "Max", "Min"}  # one FLOP per input element


def op_macs(fn, arrays, out):
    """Multiply-accumulates of one forward call of ``fn`` (a Function) on ``arrays`` giving ``out``.

    0 for ops without multiplications worth counting (reshapes, pooling, activations); the MACs
    of matmuls, convolutions and the recurrent scans' ``h @ U`` products otherwise.
    """
    name = op_name(fn)
    if name == "MatMul":
        a = arrays[0]
        return int(out.size) * int(a.shape[-1])
    if name in ("Conv2D", "Conv2DBiasAct"):
        w = arrays[1]  # (KH, KW, C_in, C_out)
        return int(out.size) * (int(w.size) // int(w.shape[3]))
    if name == "Conv2DTranspose":
        x, w = arrays[0], arrays[1]  # x (N, h, w, C_in), w (KH, KW, C_out, C_in)
        return int(x.size) * (int(w.size) // int(w.shape[3]))
    if name in ("RNNScan", "LSTMScan", "GRUScan"):
        xp, u = arrays[0], arrays[1]  # projected inputs (..., G), recurrent kernel (units, G)
        return (int(xp.size) // int(u.shape[1])) * int(u.size)
    return 0


def op_flops(fn, arrays, out):
    """Forward FLOPs of one call, or None when tinydl does not know them."""
    macs = op_macs(fn, arrays, out)
    if macs:
        return 2 * macs
    if op_name(fn) in _ELEMENTWISE:
        return int(out.size)
    if op_name(fn) in _REDUCTIONS:
        return int(arrays[0].size)
    return None


def op_backward_flops(fn, forward_macs):
    """Backward FLOPs of a matmul-like op: 2 * MACs per input gradient it computes; else None."""
    if not forward_macs:
        return None
    needs = getattr(fn, "needs_grad", None) or []
    # the weight-like inputs are the first two (x, w); a bias gradient is a cheap reduction
    return 2 * forward_macs * sum(1 for n in needs[:2] if n)


def human(n, unit=""):
    """1234567 -> '1.23M' (SI prefixes), for tables."""
    if n is None:
        return "-"
    if n == 0:
        return "0"
    exp = min(int(math.log10(abs(n)) // 3), 4)
    if exp <= 0:
        return f"{n:,}{unit}"
    return f"{n / 1000 ** exp:.2f}{'kMGT'[exp - 1]}{unit}"
