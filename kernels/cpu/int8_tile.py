"""The int8 GEMM micro-kernel: a register tile of int16 pair products summed in int32.

LLVM's loop vectorizer does not turn Numba's integer loops into the x86 multiply-add of int16
pairs (``pmaddwd``, ``vpdpwssd`` with VNNI): the products come out as 32-bit multiplies, at a
quarter of the rate. So the innermost loop is written here in LLVM IR, as a Numba intrinsic:

``tile(a, a_off, a_rs, a_seg, seg_pairs, w, w_off, w_ts, k2, out, out_off, out_rs)`` computes,
for the ``ROWS`` rows ``r`` and ``nv * LANES`` columns ``f`` of one tile,

    out[out_off + r*out_rs + f] = sum over u < k2 of  a[A(r, u)] * w[w_off + u*w_ts + 2f]
                                                    + a[A(r, u) + 1] * w[w_off + u*w_ts + 2f + 1]

    A(r, u) = a_off + r*a_rs + (u // seg_pairs)*a_seg + 2*(u % seg_pairs)

that is, row r's K values lie in ``k2 / seg_pairs`` contiguous segments ``a_seg`` apart: one
segment for an im2col row (``seg_pairs = k2``), one per kernel row when a convolution's windows
are read straight from the (padded) image. ``a`` holds int16 activations (two consecutive
values of K form a pair), ``w`` int16 weights
packed as (K/2, O, 2) (each output's pair of weights side by side, so one vector load holds
LANES outputs' pairs) and ``out`` int32; offsets are element offsets into the flat buffers.
The ``ROWS * nv`` accumulators live in vector registers for the whole K loop; each step
broadcasts one activation pair per row and loads ``nv`` weight vectors.

Every product of int8-range values fits int16 x int16 -> int32 exactly, and a pair sum is at
most 2 * 128 * 128, so ``pmaddwd`` never saturates and the int32 sums are exact (for
K < 131,072). The kernel does no bounds checks: the drivers in ``quant.py`` size every buffer
themselves, and their Python callers check the caller's shapes.

Instruction sets: AVX-512BW (16 int32 lanes, 4 rows; LLVM fuses the add into ``vpdpwssd``
where VNNI exists), AVX2 (8 lanes, 2 rows, 16 registers), and otherwise the same arithmetic in
plain LLVM vector IR (sign-extend, multiply, add), correct on any CPU Numba compiles for.
"""
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

_I16, _I32, _I64 = ir.IntType(16), ir.IntType(32), ir.IntType(64)

#: instruction set -> (int32 lanes per vector, rows per tile, LLVM intrinsic or None for plain IR)
ISAS = {"avx512bw": (16, 4, "llvm.x86.avx512.pmaddw.d.512"),
        "avx2": (8, 2, "llvm.x86.avx2.pmadd.wd"),
        "generic": (16, 4, None)}


def host_isa():
    """The widest pair multiply-add this process's Numba target has. A CPU named through
    NUMBA_CPU_NAME (portable caches) gets the plain-IR kernel."""
    if platform.machine().lower() not in ("x86_64", "amd64") or config.CPU_NAME not in (None, "host"):
        return "generic"
    import llvmlite.binding as llvm
    features = llvm.get_host_cpu_features()
    for isa in ("avx512bw", "avx2"):
        if features.get(isa, False):
            return isa
    return "generic"


def _madd_plain(builder, x, w, lanes):
    """x, w: <2*lanes x i16>; the even/odd products summed per lane, in plain vector IR."""
    vi32 = ir.VectorType(_I32, lanes)
    even = ir.Constant(vi32, [2 * i for i in range(lanes)])
    odd = ir.Constant(vi32, [2 * i + 1 for i in range(lanes)])

    def half(v, idx):
        return builder.sext(builder.shuffle_vector(v, v, idx), vi32)
    return builder.add(builder.mul(half(x, even), half(w, even)), builder.mul(half(x, odd), half(w, odd)))


def make_tile(isa, nv):
    """The tile intrinsic for instruction set ``isa`` (a key of ISAS), ``nv`` vectors wide."""
    lanes, rows, llvm_name = ISAS[isa]

    @intrinsic
    def tile(typingctx, a, a_off, a_rs, a_seg, seg_pairs, w, w_off, w_ts, k2, out, out_off, out_rs):
        sig = types.void(a, a_off, a_rs, a_seg, seg_pairs, w, w_off, w_ts, k2, out, out_off, out_rs)

        def codegen(context, builder, signature, args):
            tys = signature.args
            _, a_off, a_rs, a_seg, seg_pairs, _, w_off, w_ts, k2, _, out_off, out_rs = [
                context.cast(builder, v, t, types.int64) if isinstance(t, types.Integer) else None
                for v, t in zip(args, tys)]
            a_ptr, w_ptr, o_ptr = (context.make_array(tys[i])(context, builder, args[i]).data for i in (0, 5, 9))
            vi32, vi16 = ir.VectorType(_I32, lanes), ir.VectorType(_I16, 2 * lanes)
            if llvm_name:
                fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vi32, [vi16, vi16]), llvm_name)
                madd = lambda x, wv: builder.call(fn, [x, wv])  # noqa: E731
            else:
                madd = lambda x, wv: _madd_plain(builder, x, wv, lanes)  # noqa: E731
            const = lambda v: ir.Constant(_I64, v)  # noqa: E731
            undef, splat0 = ir.Constant(vi32, ir.Undefined), ir.Constant(vi32, [0] * lanes)
            accs = [[cgutils.alloca_once_value(builder, ir.Constant(vi32, None)) for _ in range(nv)]
                    for _ in range(rows)]
            with cgutils.for_range(builder, builder.sdiv(k2, seg_pairs)) as segs:
                seg_start = builder.add(a_off, builder.mul(segs.index, a_seg))
                pair_base = builder.mul(segs.index, seg_pairs)
                with cgutils.for_range(builder, seg_pairs) as loop:
                    u = loop.index
                    w_row = builder.add(w_off, builder.mul(builder.add(pair_base, u), w_ts))
                    wvs = [builder.load(builder.bitcast(builder.gep(w_ptr, [builder.add(w_row, const(2 * lanes * v))]),
                                                        vi16.as_pointer()), align=2) for v in range(nv)]
                    for r in range(rows):
                        at = builder.add(builder.add(seg_start, builder.mul(const(r), a_rs)), builder.mul(u, const(2)))
                        pair = builder.load(builder.bitcast(builder.gep(a_ptr, [at]), _I32.as_pointer()), align=2)
                        x = builder.bitcast(builder.shuffle_vector(
                            builder.insert_element(undef, pair, ir.Constant(_I32, 0)), undef, splat0), vi16)
                        for v in range(nv):
                            builder.store(builder.add(builder.load(accs[r][v]), madd(x, wvs[v])), accs[r][v])
            for r in range(rows):
                for v in range(nv):
                    at = builder.add(builder.add(out_off, builder.mul(const(r), out_rs)), const(lanes * v))
                    builder.store(builder.load(accs[r][v]), builder.bitcast(builder.gep(o_ptr, [at]),
                                                                            vi32.as_pointer()), align=4)
            return context.get_dummy_value()
        return sig, codegen
    return tile
