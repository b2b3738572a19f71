"""Numba kernels for the CPU selective scan (private; use `scan.selective_scan`).

For one (batch b, channel d) pair, with float32 state x (N,):

    dt_t = softplus(delta_t + bias_d) (or without the softplus)
    x_t = exp(dt_t A_d) * x_{t-1} + dt_t u_t B_t,   x_{-1} = 0
    out_t = (C_t . x_t + D_d u_t) * silu(z_t)       (no gate when has_z is False)

Arithmetic: the recurrence, exp(dt A) and the adjoint in float32 (the precision of
mamba-ssm's CUDA kernel; one 16-state step is one AVX-512 vector), the per-row elementwise
functions (softplus, silu and their derivatives) in float64, and the sums over time that make
dA, dD and d bias in float32 within a chunk and float64 across chunks. Measured against a
float64 reference (tests/test_smc_scan.py): max abs error <= 4e-5 at L = 65,536, with
gradients of magnitude ~300. The float32 version runs 2.9x faster than the earlier float64
one (1.0 vs 2.9 ns per state update, one core). exp, softplus and sigmoid are written here
with vectorisable operations only (no libm calls), so the loops compile to SIMD code.
exp(dt A) is computed on the fly and x lives in an (N,) buffer, so no (batch, dim, L, N)
tensor is materialised; dt and silu(z) go through float32 (batch, dim, L) scratch rows
(`work`), computed per row in long loops that vectorise.

Array conventions (C-contiguous numpy views of torch tensors):
    u, delta, z, out, gout : (batch, dim, L) float32 (z: a (1, 1, 1) dummy without z)
    work : (1 + has_z, batch, dim, L) float32 scratch: dt, silu(z)
    grads : (2 + has_z, batch, dim, L) float32 out: du, d delta, dz
    A : (dim, N) float32;  D, bias : (dim,) float32 (zeros when absent)
    B, C : (batch, G, L, N) float32 -- time-major with the state axis last, so the inner loop
           over N is contiguous; channel d uses group d // (dim // G)
    ckpt : (batch, dim, n_chunks, N) float32, the state entering each chunk of `chunk` steps

Backward: the reverse-time adjoint h_t = dL/dx_t = g_t C_t + exp(dt_{t+1} A) h_{t+1}, with
g_t = gout_t silu(z_t). For each chunk, last to first, the states are recomputed from the
chunk's checkpoint into a (chunk + 1, N) buffer (adding the terms that need no adjoint: dC, dD
and d silu(z)), then the chunk is walked backwards for du, d dt, dA and dB; finally d dt and
d silu(z) become d delta and dz. dB and dC are sums over channels: work unit (b, channel
slice s) adds into its own gB_part[s, b] and gC_part[s, b] (summed over s by the caller); dA,
dD and d bias come back per (b, d), float64 (summed over b by the caller).

Work units are (batch b, slice of channels); within a unit the channels advance chunk by
chunk together, so the chunk's rows of B, C (and of dB, dC) stay in cache. `_fwd` and `_bwd`
run the time axis backwards when `reverse` (position L-1 first: the scan of the flipped
sequence, without flipping anything) and spread the units over numba's threads (prange; one
thread is fine). Compilation is lazy (first call) and cached on disk (cache=True); see
`scan.compile_kernels`.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Reassociation lets LLVM vectorise the sums over N; no 'nnan'/'ninf' (inf/nan must survive).
_FM = {"reassoc", "contract", "nsz", "arcp"}

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


@intrinsic
def _i64_as_f64(typingctx, v):
    """Reinterpret the bits of an int64 as a float64 (inlined LLVM bitcast)."""
    if not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(inline="always", fastmath=_FM)
def _exp(x):
    """exp(x) for float64 x, relative error < 1e-13, clamped to [exp(-708), exp(709)]; nan
    gives nan.

    Only vectorisable operations (no libm call), so the loops over the state axis compile to
    SIMD code. x = k ln2 + r with |r| <= ln2/2; exp(r) by its degree-11 Taylor polynomial;
    2**k from its exponent bits.
    """
    x = -708.0 if x < -708.0 else (709.0 if x > 709.0 else x)   # nan stays nan
    k = math.floor(x * _LOG2E + 0.5)
    r = x - k * _LN2
    p = 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _i64_as_f64((np.int64(k) + 1023) << 52)


_F32 = np.float32
_ZERO32 = _F32(0.0)
_LOG2E32 = _F32(_LOG2E)
_LN2_HI32 = _F32(0.693359375)        # Cody-Waite split of ln 2 (hi has 10 significant bits)
_LN2_LO32 = _F32(-2.12194440e-4)
_EXP32_C = tuple(_F32(1.0 / f) for f in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0))


@intrinsic
def _i32_as_f32(typingctx, v):
    """Reinterpret the bits of an int32 as a float32 (inlined LLVM bitcast)."""
    if not isinstance(v, types.Integer) or v.bitwidth != 32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=_FM)
def _exp32_core(x):
    """exp(x) for float32 x in [-87, 88] (callers clamp), relative error ~1e-7; vectorisable
    (no libm call): x = k ln2 + r, |r| <= ln2/2, degree-7 Taylor, 2**k from the exponent bits.
    All float32 (np.floor keeps the type; math.floor would give an int64 and push the whole
    loop to float64). Shared with the channel-scan kernels (_chan_numba)."""
    k = np.floor(x * _LOG2E32 + _F32(0.5))
    r = (x - k * _LN2_HI32) - k * _LN2_LO32
    c7, c6, c5, c4, c3, c2, c1, c0 = _EXP32_C
    p = c7
    p = p * r + c6
    p = p * r + c5
    p = p * r + c4
    p = p * r + c3
    p = p * r + c2
    p = p * r + c1
    p = p * r + c0
    return p * _i32_as_f32(np.int32((np.int32(k) + np.int32(127)) << np.int32(23)))


@njit(inline="always", fastmath=_FM)
def _exp32(x):
    """exp(x) for float32 x, clamped to [exp(-87), exp(88)]; nan gives nan."""
    return _exp32_core(_F32(-87.0) if x < _F32(-87.0) else (_F32(88.0) if x > _F32(88.0) else x))


@njit(inline="always", fastmath=_FM)
def _sigmoid(x):
    """1 / (1 + exp(-x)), vectorisable."""
    return 1.0 / (1.0 + _exp(-x))


@njit(inline="always", fastmath=_FM)
def _log1p_unit(w):
    """log(1 + w) for 0 <= w <= 1, relative error < 1e-14: 2 atanh(s) with s = w / (2 + w)
    <= 1/3, by its odd series up to s**27 (vectorisable)."""
    s = w / (2.0 + w)
    s2 = s * s
    p = 1.0 / 27.0
    p = p * s2 + 1.0 / 25.0
    p = p * s2 + 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return 2.0 * s * p


@njit(inline="always", fastmath=_FM)
def _softplus(x):
    """torch's softplus (beta 1, threshold 20): x above 20, else log(1 + exp(x)), computed as
    max(x, 0) + log1p(exp(-|x|)) (vectorisable)."""
    sp = (x if x > 0.0 else 0.0) + _log1p_unit(_exp(-abs(x)))
    return x if x > 20.0 else sp


@njit(inline="always", fastmath=_FM)
def _elementwise_in(bi, d_lo, d_hi, delta, bias, softplus, z, has_z, work):
    """dt = delta + bias (softplus'd) into work[0], silu(z) into work[1], for channels
    d_lo..d_hi-1 of batch bi (whole rows: long loops that vectorise)."""
    for d in range(d_lo, d_hi):
        bd = np.float32(bias[d])
        dr, dtr = delta[bi, d], work[0, bi, d]
        if softplus:
            for t in range(dr.shape[0]):
                dtr[t] = _softplus(np.float64(dr[t] + bd))
        else:
            for t in range(dr.shape[0]):
                dtr[t] = dr[t] + bd
        if has_z:
            zr, gr = z[bi, d], work[1, bi, d]
            for t in range(zr.shape[0]):
                zt = np.float64(zr[t])
                gr[t] = zt * _sigmoid(zt)


@njit(inline="always", fastmath=_FM)
def _elementwise_out(bi, d_lo, d_hi, delta, bias, softplus, z, has_z, grads, gbias):
    """In place: grads[1] (dL/ddt) -> dL/ddelta, grads[2] (dL/dsilu(z)) -> dL/dz; gbias[bi, d]
    = the sum of dL/ddelta over the row. Channels d_lo..d_hi-1 of batch bi."""
    for d in range(d_lo, d_hi):
        gdr = grads[1, bi, d]
        if softplus:
            bd = np.float32(bias[d])
            dr = delta[bi, d]
            for t in range(dr.shape[0]):
                raw = np.float64(dr[t] + bd)
                gdr[t] = gdr[t] * (1.0 if raw > 20.0 else _sigmoid(raw))
        acc = 0.0
        for t in range(gdr.shape[0]):
            acc += gdr[t]
        gbias[bi, d] = acc
        if has_z:
            zr, gzr = z[bi, d], grads[2, bi, d]
            for t in range(zr.shape[0]):
                zt = np.float64(zr[t])
                sg = _sigmoid(zt)
                gzr[t] = gzr[t] * (sg * (1.0 + zt * (1.0 - sg)))


@njit(inline="always", fastmath=_FM)
def _fwd_chunk(bi, d, t0, t1, x, a, u, work, B, C, D, has_z, out, reverse, n_state):
    """Steps t0..t1-1 of pair (bi, d), advancing the float32 state x (N,) in place. Step t
    reads/writes position t, or L-1-t when `reverse`. `n_state` = N, passed so that the
    caller can make it a compile-time constant."""
    last_pos = u.shape[2] - 1
    g = d // (u.shape[1] // B.shape[1])
    dd = D[d]
    ur, dtr, outr = u[bi, d], work[0, bi, d], out[bi, d]
    gater = work[1, bi, d] if has_z else work[0, bi, d]
    Bg, Cg = B[bi, g], C[bi, g]
    for s in range(t0, t1):
        t = last_pos - s if reverse else s
        ut = ur[t]
        dtt = dtr[t]
        dtu = dtt * ut
        Bt, Ct = Bg[t], Cg[t]
        acc = _ZERO32
        for n in range(n_state):
            xn = _exp32(dtt * a[n]) * x[n] + dtu * Bt[n]
            x[n] = xn
            acc += Ct[n] * xn
        y = acc + dd * ut
        if has_z:
            y *= gater[t]
        outr[t] = y


@njit(inline="always", fastmath=_FM)
def _fwd_unit(bi, d_lo, d_hi, u, delta, bias, softplus, A, B, C, D, z, has_z, work, out, last,
              ckpt, store_ckpt, chunk, reverse):
    """Channels d_lo..d_hi-1 of batch bi: elementwise inputs, then the recurrence chunk by
    chunk over all the channels (the chunk's B/C rows stay in cache)."""
    _elementwise_in(bi, d_lo, d_hi, delta, bias, softplus, z, has_z, work)
    length = u.shape[2]
    a = A[d_lo:d_hi].copy()
    x = np.zeros(a.shape, np.float32)
    n_state = a.shape[1]
    for t0 in range(0, length, chunk):
        t1 = min(length, t0 + chunk)
        for p in range(d_hi - d_lo):
            if store_ckpt:
                ckpt[bi, d_lo + p, t0 // chunk] = x[p]
            if n_state == 16:   # Mamba's d_state: a constant trip count, ~1.35x faster
                _fwd_chunk(bi, d_lo + p, t0, t1, x[p], a[p], u, work, B, C, D, has_z, out,
                           reverse, 16)
            else:
                _fwd_chunk(bi, d_lo + p, t0, t1, x[p], a[p], u, work, B, C, D, has_z, out,
                           reverse, n_state)
    last[bi, d_lo:d_hi] = x


@njit(inline="always", fastmath=_FM)
def _bwd_chunk(bi, d, slot, c, h, ga, a, xs, das, gys, gac, u, work, B, C, D, has_z, gout,
               ckpt, chunk, grads, gB_part, gC_part, reverse, n_state):
    """Chunk c of pair (bi, d) backwards: h (N,) = dL/dx after the chunk on entry, before it
    on exit; writes grads[:, bi, d] (du, d dt, d silu(z)) of the chunk's steps, adds to ga (N,)
    float64 = dL/dA_d and to gB_part/gC_part[slot]; returns the chunk's part of dL/dD_d
    (float64). xs, das, gys, gac: float32 scratch. Step t is position t, or L-1-t when
    `reverse`. The sums over time (dA, dD) go through float32 per chunk, float64 across chunks.
    `n_state` = N (a compile-time constant for N = 16, see _fwd_unit)."""
    length = u.shape[2]
    g = d // (u.shape[1] // B.shape[1])
    dd = D[d]
    t0 = c * chunk
    steps = min(length, t0 + chunk) - t0
    ur, dtr, goutr = u[bi, d], work[0, bi, d], gout[bi, d]
    gur, gdtr = grads[0, bi, d], grads[1, bi, d]
    gater = work[1, bi, d] if has_z else work[0, bi, d]
    ggater = grads[2, bi, d] if has_z else grads[1, bi, d]
    Bg, Cg = B[bi, g], C[bi, g]
    gBg, gCg = gB_part[slot, bi, g], gC_part[slot, bi, g]
    xs[0] = ckpt[bi, d, c]
    gd_acc = _ZERO32
    for j in range(steps):                       # recompute the chunk's states; dC, dD, dgate
        t = length - 1 - (t0 + j) if reverse else t0 + j
        ut = ur[t]
        dtt = dtr[t]
        dtu = dtt * ut
        gy = goutr[t]
        gyg = gy * gater[t] if has_z else gy     # dL/dy before the gate
        gys[j] = gyg
        gd_acc += gyg * ut
        Bt, Ct, gCt = Bg[t], Cg[t], gCg[t]
        xp, xc, dar = xs[j], xs[j + 1], das[j]
        acc = _ZERO32
        for n in range(n_state):
            da = _exp32(dtt * a[n])
            dar[n] = da
            xn = da * xp[n] + dtu * Bt[n]
            xc[n] = xn
            acc += Ct[n] * xn
            gCt[n] += gyg * xn
        if has_z:
            ggater[t] = gy * (acc + dd * ut)
    gac[:] = _ZERO32
    for j in range(steps - 1, -1, -1):           # adjoint, reverse time
        t = length - 1 - (t0 + j) if reverse else t0 + j
        ut = ur[t]
        dtt = dtr[t]
        gy = gys[j]
        dtu = dtt * ut
        Bt, Ct = Bg[t], Cg[t]
        gBt = gBg[t]
        xp, dar = xs[j], das[j]
        gdt_acc = _ZERO32
        gu_acc = _ZERO32
        for n in range(n_state):
            hn = h[n] + gy * Ct[n]                  # dL/dx_t
            bn = Bt[n]
            gBt[n] += hn * dtu
            q = hn * xp[n] * dar[n]                 # dL/d(dt a_n)
            gdt_acc += q * a[n] + hn * ut * bn
            gu_acc += hn * bn
            gac[n] += q * dtt
            h[n] = hn * dar[n]                      # on to dL/dx_{t-1}
        gur[t] = gy * dd + dtt * gu_acc
        gdtr[t] = gdt_acc
    for n in range(n_state):
        ga[n] += gac[n]
    return np.float64(gd_acc)


@njit(inline="always", fastmath=_FM)
def _bwd_unit(bi, d_lo, d_hi, slot, u, delta, bias, softplus, A, B, C, D, z, has_z, gout,
              glast, has_glast, ckpt, chunk, work, grads, gA, gB_part, gC_part, gD, gbias,
              reverse):
    """Channels d_lo..d_hi-1 of batch bi: elementwise inputs, the chunks from the last one
    (dB/dC rows of the chunk stay in cache), then the elementwise gradients."""
    _elementwise_in(bi, d_lo, d_hi, delta, bias, softplus, z, has_z, work)
    n_state = A.shape[1]
    length = u.shape[2]
    a = A[d_lo:d_hi].copy()
    h = np.zeros(a.shape, np.float32)
    if has_glast:
        h[:] = glast[bi, d_lo:d_hi]
    ga = np.zeros(a.shape)
    gd = np.zeros(d_hi - d_lo)
    xs = np.empty((chunk + 1, n_state), np.float32)   # xs[j + 1] = state after step t0 + j
    das = np.empty((chunk, n_state), np.float32)      # exp(dt A) of step t0 + j
    gys = np.empty(chunk, np.float32)                 # dL/dy (before the gate) of step t0 + j
    gac = np.empty(n_state, np.float32)               # the chunk's part of dL/dA_d
    for c in range((length + chunk - 1) // chunk - 1, -1, -1):
        for p in range(d_hi - d_lo):
            if n_state == 16:
                gd[p] += _bwd_chunk(bi, d_lo + p, slot, c, h[p], ga[p], a[p], xs, das, gys, gac,
                                    u, work, B, C, D, has_z, gout, ckpt, chunk, grads, gB_part,
                                    gC_part, reverse, 16)
            else:
                gd[p] += _bwd_chunk(bi, d_lo + p, slot, c, h[p], ga[p], a[p], xs, das, gys, gac,
                                    u, work, B, C, D, has_z, gout, ckpt, chunk, grads, gB_part,
                                    gC_part, reverse, n_state)
    gA[bi, d_lo:d_hi] = ga
    gD[bi, d_lo:d_hi] = gd
    _elementwise_out(bi, d_lo, d_hi, delta, bias, softplus, z, has_z, grads, gbias)


@njit(cache=True, fastmath=_FM, parallel=True)
def _fwd(u, delta, bias, softplus, A, B, C, D, z, has_z, work, out, last, ckpt, store_ckpt,
         chunk, n_slices, reverse):
    """Forward over work units i = (batch bi, channel slice s), spread over numba's threads.
    work: (1 + has_z, batch, dim, L) float32 scratch (dt, silu(z))."""
    dim = u.shape[1]
    for i in prange(u.shape[0] * n_slices):
        bi, s = i // n_slices, i % n_slices
        _fwd_unit(bi, s * dim // n_slices, (s + 1) * dim // n_slices, u, delta, bias, softplus,
                  A, B, C, D, z, has_z, work, out, last, ckpt, store_ckpt, chunk, reverse)


@njit(cache=True, fastmath=_FM, parallel=True)
def _bwd(u, delta, bias, softplus, A, B, C, D, z, has_z, gout, glast, has_glast, ckpt, chunk,
         work, grads, gA, gB_part, gC_part, gD, gbias, reverse):
    """Backward over work units i = (batch bi, channel slice s); slice s owns gB_part[s] and
    gC_part[s] (n_slices = gB_part.shape[0]). work: as in _fwd; grads: (2 + has_z, batch, dim,
    L) float32 out (du, d delta, dz)."""
    dim = u.shape[1]
    n_slices = gB_part.shape[0]
    for i in prange(u.shape[0] * n_slices):
        bi, s = i // n_slices, i % n_slices
        _bwd_unit(bi, s * dim // n_slices, (s + 1) * dim // n_slices, s, u, delta, bias,
                  softplus, A, B, C, D, z, has_z, gout, glast, has_glast, ckpt, chunk, work,
                  grads, gA, gB_part, gC_part, gD, gbias, reverse)


@njit(cache=True, fastmath=_FM)
def _elementwise(x):
    """(exp, softplus, sigmoid) of the kernels on a 1-D float64 array (for tests)."""
    out = np.empty((3, x.shape[0]))
    for i in range(x.shape[0]):
        out[0, i] = _exp(x[i])
        out[1, i] = _softplus(x[i])
        out[2, i] = _sigmoid(x[i])
    return out
