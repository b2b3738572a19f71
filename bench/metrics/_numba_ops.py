"""Scalar helpers for the numba kernels of the FMI metrics (private): a branch-free select and a
vectorisable log2 (bench.metrics._fmi_numba, bench.metrics._fmi_pair9)."""
from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_TINY = 2.2250738585072014e-308  # smallest normal float64: 0 log 0 = 0, |x| + tiny is normal
_SQRT2 = 1.4142135623730951
_LOG2E = 1.4426950408889634
_MANT = 0x000FFFFFFFFFFFFF
_ONE = 0x3FF0000000000000


@intrinsic
def _as_bits(typingctx, x):
    """float64 -> its int64 bit pattern (an LLVM bitcast)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, v):
    """int64 bit pattern -> float64 (an LLVM bitcast)."""
    if not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _sel(typingctx, cond, a, b):
    """cond ? a : b for a boolean and two float64 values, as one LLVM select: no branch, and no
    basic block in numba's IR (whose SSA pass is slow on many small blocks)."""
    if not (isinstance(cond, types.Boolean) and isinstance(a, types.Float)
            and isinstance(b, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])
    return types.float64(types.boolean, types.float64, types.float64), codegen


@njit(error_model="numpy")
def _log2(x):
    """log2(x) for a normal float64 x > 0, absolute error < 1e-12, vectorisable.

    x = 2^e m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(z), z = (m - 1) / (m + 1),
    |z| <= 0.172, by its odd series to z^15."""
    bits = _as_bits(x)
    e = (bits >> 52) - 1023
    m = _from_bits((bits & _MANT) | _ONE)
    big = m > _SQRT2
    m = _sel(big, m * 0.5, m)
    e = _sel(big, e + 1.0, e * 1.0)
    z = (m - 1.0) / (m + 1.0)
    z2 = z * z
    s = 1.0 / 15.0
    s = s * z2 + 1.0 / 13.0
    s = s * z2 + 1.0 / 11.0
    s = s * z2 + 1.0 / 9.0
    s = s * z2 + 1.0 / 7.0
    s = s * z2 + 1.0 / 5.0
    s = s * z2 + 1.0 / 3.0
    s = s * z2 + 1.0
    return e + (2.0 * _LOG2E) * z * s
