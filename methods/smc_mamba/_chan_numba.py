"""Fused numba kernels for the per-pixel channel scan (private; used by `ssm.ChannelSSM`).

One pixel's sequence s (length L, float32 scalars) goes through, per token t,
    u_j = lw_j s + lb_j                                  (lift 1->k, j < k)
and, per direction e (0: forward in t, 1: reverse), with the SelectiveSSM's weights
    r_m = xw[e,m] s + xb[e,m]  (m < R);   B_n = xw[e,R+n] s + xb[e,R+n];   C_n = xw[e,R+N+n] s + ...
    dt_j = softplus(sum_m dtw[e,j,m] r_m + dtb[e,j])     (torch's softplus, threshold 20)
    x_j,n <- exp(dt_j A[e,j,n]) x_j,n + dt_j u_j B_n;    y_e,t,j = sum_n C_n x_j,n + D[e,j] u_j
and out_t = sum_j pw_j (y_0,t,j + y_1,t,j) + pb, written for the kept tokens only.
B, C, dt and u are computed on the fly: nothing of size (pixels, N, L) exists.

Sequences: plain (`cross` False): s = a[p] (L = n); cross: s = a0, b0, a1, b1, ... (L = 2n),
and only the a-positions (even t) are kept. Output (P, n) either way.

Arithmetic: float32 (the inputs' precision); exp by a vectorisable polynomial (relative error
about 1e-7), softplus and sigmoid through `_scan_numba`'s float64 helpers (k per token).
Work: pixels split into `n_blocks` contiguous blocks spread over numba's threads (prange);
block i writes its parameter-gradient partial sums to gpar[i] (float64, summed by the caller).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ._scan_numba import _FM, _sigmoid, _softplus

_F32 = np.float32
_LOG2E = _F32(1.4426950408889634)
_LN2_HI = _F32(0.693359375)
_LN2_LO = _F32(-2.12194440e-4)
_C = tuple(_F32(1.0 / f) for f in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0))
_C7, _C6, _C5, _C4, _C3, _C2, _C1, _C0 = _C
_LO = _F32(-87.0)
_HALF = _F32(0.5)
_ZERO = _F32(0.0)


@intrinsic
def _i32_as_f32(typingctx, v):
    """Reinterpret the bits of an int32 as a float32 (inlined LLVM bitcast)."""
    if not isinstance(v, types.Integer) or v.bitwidth != 32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=_FM)
def _exp32(x):
    """exp(x) for float32 x <= 0 (the scan's decay), relative error ~1e-7, clamped below at
    -87 (exp(-87) ~ 1.6e-38); vectorisable. x = k ln2 + r, |r| <= ln2/2, degree-7 Taylor."""
    x = _LO if x < _LO else x
    k = np.float32(np.floor(x * _LOG2E + _HALF))
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + _C1
    p = p * r + _C0
    return p * _i32_as_f32(np.int32((np.int32(k) + np.int32(127)) << np.int32(23)))


@njit(inline="always", fastmath=_FM)
def _token(s, e, lw, lb, xw, xb, dtw, dtb, u, dt, raw, Bt, Ct):
    """Per-token inputs of direction e for scalar s: u (k,), dt (k,), raw (k,) = the
    pre-softplus delta, Bt, Ct (N,)."""
    k, n_rank = dtw.shape[1], dtw.shape[2]
    n_state = Bt.shape[0]
    for j in range(k):
        u[j] = lw[j] * s + lb[j]
        acc = dtb[e, j]
        for m in range(n_rank):
            acc += dtw[e, j, m] * (xw[e, m] * s + xb[e, m])
        raw[j] = acc
    for j in range(k):                        # a separate loop: vectorises over j
        dt[j] = np.float32(_softplus(np.float64(raw[j])))
    for n in range(n_state):
        Bt[n] = xw[e, n_rank + n] * s + xb[e, n_rank + n]
        Ct[n] = xw[e, n_rank + n_state + n] * s + xb[e, n_rank + n_state + n]


@njit(inline="always", fastmath=_FM)
def _seq(a, b, p, cross, s):
    """The pixel's sequence into s (L,)."""
    n = a.shape[1]
    if cross:
        for i in range(n):
            s[2 * i] = a[p, i]
            s[2 * i + 1] = b[p, i]
    else:
        for i in range(n):
            s[i] = a[p, i]


@njit(inline="always", fastmath=_FM)
def _scan_dir(s, e, reverse, lw, lb, xw, xb, dtw, dtb, A, D, y, x, u, dt, raw, Bt, Ct, xs, das):
    """Direction e over the sequence s: adds y_e (L, k) into y; with xs (L+1, k, N) and das
    (L, k, N) of nonzero size, also stores the states (xs[i+1] after scan step i) and
    exp(dt A) of every step."""
    length = s.shape[0]
    k, n_state = x.shape
    store = xs.shape[0] > 0
    x[:] = _ZERO
    if store:
        xs[0] = _ZERO
    for i in range(length):
        t = length - 1 - i if reverse else i
        _token(s[t], e, lw, lb, xw, xb, dtw, dtb, u, dt, raw, Bt, Ct)
        for j in range(k):
            dtj = dt[j]
            dtu = dtj * u[j]
            xj, aj = x[j], A[e, j]
            if store:
                acc = _step_store(dtj, dtu, aj, Bt, Ct, xj, das[i, j], xs[i + 1, j])
            else:
                acc = _step(dtj, dtu, aj, Bt, Ct, xj)
            y[t, j] += acc + D[e, j] * u[j]


@njit(inline="always", fastmath=_FM)
def _step(dtj, dtu, aj, Bt, Ct, xj):
    """One step of one lifted channel: xj (N,) in place; returns C . x."""
    acc = _ZERO
    for n in range(xj.shape[0]):
        xn = _exp32(dtj * aj[n]) * xj[n] + dtu * Bt[n]
        xj[n] = xn
        acc += Ct[n] * xn
    return acc


@njit(inline="always", fastmath=_FM)
def _step_store(dtj, dtu, aj, Bt, Ct, xj, da_out, x_out):
    """As `_step`, also storing exp(dt A) into da_out and the new state into x_out (N,)."""
    acc = _ZERO
    for n in range(xj.shape[0]):
        da = _exp32(dtj * aj[n])
        xn = da * xj[n] + dtu * Bt[n]
        da_out[n] = da
        x_out[n] = xn
        xj[n] = xn
        acc += Ct[n] * xn
    return acc


@njit(cache=True, fastmath=_FM, parallel=True)
def chan_fwd(a, b, cross, n_dir, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb, out, n_blocks):
    """Forward. a, b: (P, n) float32 (b unused unless cross); lw, lb, pw: (k,); pb: (1,);
    xw, xb: (n_dir, R+2N); dtw: (n_dir, k, R); dtb, D: (n_dir, k); A: (n_dir, k, N) (negative);
    out: (P, n) float32."""
    n_pix, n = a.shape
    length = 2 * n if cross else n
    k, n_state = A.shape[1], A.shape[2]
    for blk in prange(n_blocks):
        s = np.empty(length, np.float32)
        y = np.empty((length, k), np.float32)
        x = np.empty((k, n_state), np.float32)
        u = np.empty(k, np.float32)
        dt = np.empty(k, np.float32)
        raw = np.empty(k, np.float32)
        Bt = np.empty(n_state, np.float32)
        Ct = np.empty(n_state, np.float32)
        none = np.empty((0, k, n_state), np.float32)
        step = 2 if cross else 1
        for p in range(blk * n_pix // n_blocks, (blk + 1) * n_pix // n_blocks):
            _seq(a, b, p, cross, s)
            y[:] = _ZERO
            for e in range(n_dir):
                _scan_dir(s, e, e == 1, lw, lb, xw, xb, dtw, dtb, A, D, y, x, u, dt, raw, Bt,
                          Ct, none, none)
            for i in range(n):
                acc = pb[0]
                for j in range(k):
                    acc += pw[j] * y[i * step, j]
                out[p, i] = acc


@njit(cache=True, fastmath=_FM, parallel=True)
def chan_bwd(a, b, cross, n_dir, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb, gout, ga, gb, gpar,
             n_blocks):
    """Backward of `chan_fwd`. gout: (P, n) float32; writes ga, gb (P, n) float32 (gb only if
    cross) and gpar (n_blocks, n_par) float64 partial parameter gradients, laid out as
    [lw k | lb k | xw n_dir*(R+2N) | xb same | dtw n_dir*k*R | dtb n_dir*k | A n_dir*k*N |
    D n_dir*k | pw k | pb 1] (see `param_sizes`)."""
    n_pix, n = a.shape
    length = 2 * n if cross else n
    k, n_state = A.shape[1], A.shape[2]
    n_rank = dtw.shape[2]
    n_x = n_rank + 2 * n_state
    for blk in prange(n_blocks):
        s = np.empty(length, np.float32)
        gs = np.empty(length, np.float64)
        y = np.empty((length, k), np.float32)
        x = np.empty((k, n_state), np.float32)
        h = np.empty((k, n_state), np.float32)
        u = np.empty(k, np.float32)
        dt = np.empty(k, np.float32)
        raw = np.empty(k, np.float32)
        Bt = np.empty(n_state, np.float32)
        Ct = np.empty(n_state, np.float32)
        gB = np.empty(n_state, np.float32)
        gC = np.empty(n_state, np.float32)
        gu = np.empty(k, np.float32)
        gdt = np.empty(k, np.float32)
        gy = np.empty(k, np.float32)
        xs = np.empty((length + 1, k, n_state), np.float32)
        das = np.empty((length, k, n_state), np.float32)
        none = np.empty((0, k, n_state), np.float32)
        pA = np.empty((k, n_state), np.float32)      # this pixel's and direction's dL/dA
        pxw = np.empty(n_x, np.float32)              # ... and dL/dxw, dL/dxb
        pxb = np.empty(n_x, np.float32)
        # parameter gradients of this block (float64)
        g_lw = np.zeros(k)
        g_lb = np.zeros(k)
        g_xw = np.zeros((n_dir, n_x))
        g_xb = np.zeros((n_dir, n_x))
        g_dtw = np.zeros((n_dir, k, n_rank))
        g_dtb = np.zeros((n_dir, k))
        g_A = np.zeros((n_dir, k, n_state))
        g_D = np.zeros((n_dir, k))
        g_pw = np.zeros(k)
        g_pb = 0.0
        step = 2 if cross else 1
        for p in range(blk * n_pix // n_blocks, (blk + 1) * n_pix // n_blocks):
            _seq(a, b, p, cross, s)
            y[:] = _ZERO
            for e in range(n_dir):
                _scan_dir(s, e, e == 1, lw, lb, xw, xb, dtw, dtb, A, D, y, x, u, dt, raw, Bt,
                          Ct, none, none)
            for i in range(n):                       # the projection k -> 1
                go = np.float64(gout[p, i])
                g_pb += go
                for j in range(k):
                    g_pw[j] += go * y[i * step, j]
            gs[:] = 0.0
            for e in range(n_dir):
                reverse = e == 1
                y[:] = _ZERO                          # scratch: this direction's recompute
                _scan_dir(s, e, reverse, lw, lb, xw, xb, dtw, dtb, A, D, y, x, u, dt, raw, Bt,
                          Ct, xs, das)
                h[:] = _ZERO
                pA[:] = _ZERO
                pxw[:] = _ZERO
                pxb[:] = _ZERO
                for i in range(length - 1, -1, -1):  # adjoint over scan steps, last first
                    t = length - 1 - i if reverse else i
                    st = s[t]
                    _token(st, e, lw, lb, xw, xb, dtw, dtb, u, dt, raw, Bt, Ct)
                    kept = t % step == 0
                    go = gout[p, t // step] if kept else _ZERO
                    gB[:] = _ZERO
                    gC[:] = _ZERO
                    for j in range(k):
                        gyj = go * pw[j]
                        gy[j] = gyj
                        dtj, uj = dt[j], u[j]
                        dtu = dtj * uj
                        gdt_acc = _ZERO
                        gu_acc = _ZERO
                        xc, xp, dar, hj = xs[i + 1, j], xs[i, j], das[i, j], h[j]
                        aj, pAj = A[e, j], pA[j]
                        for n_ in range(n_state):
                            xn = xc[n_]
                            gC[n_] += gyj * xn
                            hn = hj[n_] + gyj * Ct[n_]
                            gB[n_] += hn * dtu
                            da = dar[n_]
                            q = hn * xp[n_] * da
                            gdt_acc += q * aj[n_] + hn * uj * Bt[n_]
                            gu_acc += hn * Bt[n_]
                            pAj[n_] += q * dtj
                            hj[n_] = hn * da
                        gu[j] = dtj * gu_acc + gyj * D[e, j]
                        g_D[e, j] += gyj * uj
                        gdt[j] = gdt_acc
                    # chain to s and the parameters
                    gst = 0.0
                    for j in range(k):
                        g_lw[j] += gu[j] * st
                        g_lb[j] += gu[j]
                        gst += gu[j] * lw[j]
                    for m in range(n_rank):
                        gr = 0.0
                        for j in range(k):
                            rw = np.float64(raw[j])
                            gd = np.float64(gdt[j]) * (1.0 if rw > 20.0 else _sigmoid(rw))
                            if m == 0:
                                g_dtb[e, j] += gd
                            g_dtw[e, j, m] += gd * (xw[e, m] * st + xb[e, m])
                            gr += gd * dtw[e, j, m]
                        g_xw[e, m] += gr * st
                        g_xb[e, m] += gr
                        gst += gr * xw[e, m]
                    xwB, xwC = xw[e, n_rank:n_rank + n_state], xw[e, n_rank + n_state:]
                    pwB, pwC = pxw[n_rank:n_rank + n_state], pxw[n_rank + n_state:]
                    pbB, pbC = pxb[n_rank:n_rank + n_state], pxb[n_rank + n_state:]
                    gsf = _ZERO
                    for n_ in range(n_state):
                        pwB[n_] += gB[n_] * st
                        pbB[n_] += gB[n_]
                        pwC[n_] += gC[n_] * st
                        pbC[n_] += gC[n_]
                        gsf += gB[n_] * xwB[n_] + gC[n_] * xwC[n_]
                    gs[t] += gst + gsf
                for j in range(k):
                    for n_ in range(n_state):
                        g_A[e, j, n_] += pA[j, n_]
                for q_ in range(n_rank, n_x):
                    g_xw[e, q_] += pxw[q_]
                    g_xb[e, q_] += pxb[q_]
            if cross:
                for i in range(n):
                    ga[p, i] = gs[2 * i]
                    gb[p, i] = gs[2 * i + 1]
            else:
                for i in range(n):
                    ga[p, i] = gs[i]
        o = 0
        gp = gpar[blk]
        for v in g_lw:
            gp[o] = v
            o += 1
        for v in g_lb:
            gp[o] = v
            o += 1
        for v in g_xw.ravel():
            gp[o] = v
            o += 1
        for v in g_xb.ravel():
            gp[o] = v
            o += 1
        for v in g_dtw.ravel():
            gp[o] = v
            o += 1
        for v in g_dtb.ravel():
            gp[o] = v
            o += 1
        for v in g_A.ravel():
            gp[o] = v
            o += 1
        for v in g_D.ravel():
            gp[o] = v
            o += 1
        for v in g_pw:
            gp[o] = v
            o += 1
        gp[o] = g_pb
