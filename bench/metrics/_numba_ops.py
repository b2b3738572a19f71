"""Scalar helpers for the numba kernels of the FMI metrics (private): a branch-free select and
vectorisable log2 in float64 and float32 (bench.metrics._fmi_numba, bench.metrics._fmi_pair9)."""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._llvm_options import raise_vectorizer_check_limit

raise_vectorizer_check_limit()

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
def _as_bits32(typingctx, x):
    """float32 -> its int32 bit pattern (an LLVM bitcast)."""
    if not isinstance(x, types.Float) or x.bitwidth != 32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _from_bits32(typingctx, v):
    """int32 bit pattern -> float32 (an LLVM bitcast)."""
    if not isinstance(v, types.Integer) or v.bitwidth != 32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _sel(typingctx, cond, a, b):
    """cond ? a : b for a boolean and two floats of the same width (float64 or float32), as
    one LLVM select: no branch, and no basic block in numba's IR (whose SSA pass is slow on
    many small blocks)."""
    if not (isinstance(cond, types.Boolean) and isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])
    return a(types.boolean, a, a), codegen


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


_TINY32 = np.float32(1.1754943508222875e-38)  # smallest normal float32
_F32 = np.float32
_SQRT2_32 = _F32(_SQRT2)
_MANT32 = np.int32(0x007FFFFF)
_ONE32 = np.int32(0x3F800000)
_LOG2_C32 = tuple(_F32(1.0 / k) for k in (9, 7, 5, 3, 1))


@njit(error_model="numpy")
def _log2f(x):
    """log2(x) for a normal float32 x > 0, in float32 (error <= 1.3e-7 max(1, |log2 x|): the
    rounding of the result), vectorisable: the scheme of _log2 with the series to z^9 (|z| <= 0.172, the
    next term is < 3e-9). Every operation stays float32/int32 (np.int32 wraps the integer
    steps: numba would widen them to int64 and halve the vector width)."""
    bits = _as_bits32(x)
    e = _F32(np.int32(np.int32(bits >> np.int32(23)) - np.int32(127)))
    m = _from_bits32(np.int32(np.int32(bits & _MANT32) | _ONE32))
    big = m > _SQRT2_32
    m = _sel(big, m * _F32(0.5), m)
    e = _sel(big, e + _F32(1.0), e)
    z = (m - _F32(1.0)) / (m + _F32(1.0))
    z2 = z * z
    c9, c7, c5, c3, c1 = _LOG2_C32
    t = c9
    t = t * z2 + c7
    t = t * z2 + c5
    t = t * z2 + c3
    t = t * z2 + c1
    return e + _F32(2.0 * _LOG2E) * z * t
