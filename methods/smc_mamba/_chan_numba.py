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
and only the a-positions (even t) are kept. Arrays are channel-major, (B, n, HW): the layout
of a (B, n, H, W) feature map, so no transposed copy is made; pixel p = (p // HW, p % HW).
Output (B, n, HW) either way.

Arithmetic: float32 (the inputs' precision); exp, softplus and sigmoid by vectorisable
float32 polynomials (relative error about 1e-7); raw_j is folded to al_j s + be_j.
Layout: pixels go in groups of _W = 16, one per SIMD lane; every per-token quantity and state
is stored [..., lane] so the per-token scalar work and the k*N state update run across lanes.
Scratch lives on the stack (`_stack_f32`) so LLVM vectorises the lane loops without runtime
alias checks. Work: groups split into `n_blocks` contiguous chunks spread over numba's threads
(prange); chunk i adds its parameter-gradient partial sums to gpar[i] (float64, summed by the
caller).
"""
from __future__ import annotations

import numpy as np
from numba import carray, njit, prange, types
from numba.extending import intrinsic

from ._scan_numba import _FM, _exp32_core

_F32 = np.float32
_LO = _F32(-87.0)
_ZERO = _F32(0.0)


@intrinsic
def _stack_f32(typingctx, size):
    """Pointer to `size` float32 on the stack. The scratch arrays of the kernels live there:
    LLVM then knows they alias nothing else, so the lane loops vectorise without runtime
    alias checks (heap scratch made the backward's inner loop ~6x slower). The allocas sit in
    the prange body, so a thread's stack grows by ~50 KB (L = 96) per chunk it runs until the
    kernel returns: the caller keeps chunks per thread small for long sequences."""
    if not isinstance(size, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.alloca(context.get_value_type(types.float32), size=args[0])
    return types.CPointer(types.float32)(types.intp), codegen


@njit(inline="always", fastmath=_FM)
def _exp32(x):
    """exp(x) for float32 x <= 0 (the scan's decay), relative error ~1e-7, clamped below at
    -87 (exp(-87) ~ 1.6e-38); vectorisable (the polynomial is _scan_numba._exp32_core)."""
    return _exp32_core(_LO if x < _LO else x)


# ---------------------------------------------------------------------------------------------
# Pixel-blocked kernels: _W pixels per group, every per-token array laid out [..., lane]
# innermost so the scalar work (lift, softplus, B/C, exp) and the state update run in SIMD
# lanes across pixels. Padded lanes of the last group scan zeros and get zero gradient.
# ---------------------------------------------------------------------------------------------
_W = 16
_ONE = _F32(1.0)
_TWO = _F32(2.0)
_TWENTY = _F32(20.0)
_L = tuple(_F32(1.0 / f) for f in (15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0))


@njit(inline="always", fastmath=_FM)
def _softplus32(x):
    """torch's softplus (threshold 20) in float32: max(x, 0) + log1p(exp(-|x|)), log1p by
    2 atanh(w / (2 + w)) to s**15 (relative error ~1e-7); vectorisable."""
    w = _exp32(-abs(x))
    s = w / (_TWO + w)
    s2 = s * s
    p = _L[0]
    p = p * s2 + _L[1]
    p = p * s2 + _L[2]
    p = p * s2 + _L[3]
    p = p * s2 + _L[4]
    p = p * s2 + _L[5]
    p = p * s2 + _L[6]
    p = p * s2 + _ONE
    sp = (x if x > _ZERO else _ZERO) + _TWO * s * p
    return x if x > _TWENTY else sp


@njit(inline="always", fastmath=_FM)
def _sigmoid32(x):
    """1 / (1 + exp(-x)) in float32 (exp of -|x| only, so no overflow); vectorisable."""
    e = _exp32(-abs(x))
    r = _ONE / (_ONE + e)
    return r if x >= _ZERO else e * r


@njit(inline="always", fastmath=_FM)
def _gather(a, b, cross, step, p0, n_pix, S):
    """Sequences of pixels p0..p0+_W-1 into S (L, _W): channel i of a into row i * step and,
    if `cross` (step 2), of b into row 2 i + 1; other rows are left as they are; lanes past
    n_pix get zeros. a, b: (B, n, HW) channel-major; pixel p is (p // HW, p % HW). When the
    group lies in one image (the usual case) each channel's _W values are one contiguous run."""
    n, hw = a.shape[1], a.shape[2]
    bi = p0 // hw
    q0 = p0 - bi * hw
    if q0 + _W <= hw:
        for i in range(n):
            ar = a[bi, i]
            for w in range(_W):
                S[i * step, w] = ar[q0 + w]
            if cross:
                br = b[bi, i]
                for w in range(_W):
                    S[2 * i + 1, w] = br[q0 + w]
        return
    for w in range(_W):
        p = p0 + w
        if p < n_pix:
            bw = p // hw
            q = p - bw * hw
            for i in range(n):
                S[i * step, w] = a[bw, i, q]
                if cross:
                    S[2 * i + 1, w] = b[bw, i, q]
        else:
            for i in range(S.shape[0]):
                S[i, w] = _ZERO


@njit(inline="always", fastmath=_FM)
def _scatter(R, step, offset, p0, n_pix, out):
    """out[pixel p0 + w, channel i] = R[i * step + offset, w] for the group's real lanes; out
    (B, n, HW) channel-major (contiguous runs when the group lies in one image)."""
    n, hw = out.shape[1], out.shape[2]
    bi = p0 // hw
    q0 = p0 - bi * hw
    if q0 + _W <= hw:
        for i in range(n):
            orow = out[bi, i]
            for w in range(_W):
                orow[q0 + w] = R[i * step + offset, w]
        return
    for w in range(min(_W, n_pix - p0)):
        bw = (p0 + w) // hw
        q = p0 + w - bw * hw
        for i in range(n):
            out[bw, i, q] = R[i * step + offset, w]


@njit(inline="always", fastmath=_FM)
def _dir_coefs(e, lw, lb, xw, xb, dtw, dtb, al, be):
    """raw_j = al[j] s + be[j] (the pre-softplus delta is affine in s)."""
    k, n_rank = dtw.shape[1], dtw.shape[2]
    for j in range(k):
        a_ = _ZERO
        b_ = dtb[e, j]
        for m in range(n_rank):
            a_ += dtw[e, j, m] * xw[e, m]
            b_ += dtw[e, j, m] * xb[e, m]
        al[j] = a_
        be[j] = b_


@njit(inline="always", fastmath=_FM)
def _tok_blk(S, t, e, lw, lb, xw, xb, al, be, u, dt, raw, Bt, Ct):
    """Token t of direction e in all lanes: u, dt, raw (k, _W); Bt, Ct (N, _W)."""
    k = u.shape[0]
    n_state = Bt.shape[0]
    n_rank = xw.shape[1] - 2 * n_state
    for j in range(k):
        lwj, lbj, alj, bej = lw[j], lb[j], al[j], be[j]
        for w in range(_W):
            s = S[t, w]
            u[j, w] = lwj * s + lbj
            r = alj * s + bej
            raw[j, w] = r
            dt[j, w] = _softplus32(r)
    for n in range(n_state):
        wb, bb = xw[e, n_rank + n], xb[e, n_rank + n]
        wc, bc = xw[e, n_rank + n_state + n], xb[e, n_rank + n_state + n]
        for w in range(_W):
            s = S[t, w]
            Bt[n, w] = wb * s + bb
            Ct[n, w] = wc * s + bc


@njit(inline="always", fastmath=_FM)
def _scan_blk(S, e, reverse, lw, lb, xw, xb, al, be, A, D, pw, Y, G, gpw, x, u, dt, raw, Bt,
              Ct, acc, xs):
    """Direction e over S (L, _W), states x (k, N, _W). Adds sum_j pw_j y_e,t,j into Y (L, _W)
    when Y has rows; with G (L, _W) of rows (the output gradient per token), accumulates
    G * y_e,t,j into gpw (k, _W); with xs (L+1, k, N, _W) of rows, stores the states (xs[i+1]
    after step i)."""
    length = S.shape[0]
    k, n_state = x.shape[0], x.shape[1]
    store = xs.shape[0] > 0
    want_y = Y.shape[0] > 0
    want_g = G.shape[0] > 0
    x[:] = _ZERO
    if store:
        xs[0] = _ZERO
    for i in range(length):
        t = length - 1 - i if reverse else i
        _tok_blk(S, t, e, lw, lb, xw, xb, al, be, u, dt, raw, Bt, Ct)
        for j in range(k):
            for w in range(_W):
                acc[w] = _ZERO
            for n in range(n_state):
                a_jn = A[e, j, n]
                xr = x[j, n]
                for w in range(_W):
                    dtw_ = dt[j, w]
                    da = _exp32(dtw_ * a_jn)
                    xn = da * xr[w] + dtw_ * u[j, w] * Bt[n, w]
                    xr[w] = xn
                    acc[w] += Ct[n, w] * xn
                    if store:
                        xs[i + 1, j, n, w] = xn
            dj, pj = D[e, j], pw[j]
            if want_y:
                for w in range(_W):
                    Y[t, w] += pj * (acc[w] + dj * u[j, w])
            if want_g:
                for w in range(_W):
                    gpw[j, w] += G[t, w] * (acc[w] + dj * u[j, w])


@njit(cache=True, fastmath=_FM, parallel=True)
def chan_fwd(a, b, cross, n_dir, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb, out, n_blocks):
    """Forward. a, b: (B, n, HW) float32, channel-major (b unused unless cross); lw, lb, pw: (k,); pb: (1,);
    xw, xb: (n_dir, R+2N); dtw: (n_dir, k, R); dtb, D: (n_dir, k); A: (n_dir, k, N) (negative);
    out: (B, n, HW) float32. Pixels (P = B * HW of them) go in groups of _W (SIMD lanes); n_blocks chunks of groups
    are spread over numba's threads."""
    n, hw = a.shape[1], a.shape[2]
    n_pix = a.shape[0] * hw
    length = 2 * n if cross else n
    k, n_state = A.shape[1], A.shape[2]
    n_grp = (n_pix + _W - 1) // _W
    step = 2 if cross else 1
    for blk in prange(n_blocks):
        S = carray(_stack_f32(length * _W), (length, _W))
        Y = carray(_stack_f32(length * _W), (length, _W))
        x = carray(_stack_f32(k * n_state * _W), (k, n_state, _W))
        u = carray(_stack_f32(k * _W), (k, _W))
        dt = carray(_stack_f32(k * _W), (k, _W))
        raw = carray(_stack_f32(k * _W), (k, _W))
        Bt = carray(_stack_f32(n_state * _W), (n_state, _W))
        Ct = carray(_stack_f32(n_state * _W), (n_state, _W))
        acc = carray(_stack_f32(_W), (_W,))
        al = carray(_stack_f32(k), (k,))
        be = carray(_stack_f32(k), (k,))
        G0 = np.empty((0, _W), np.float32)
        gpw0 = np.empty((0, _W), np.float32)
        none = np.empty((0, k, n_state, _W), np.float32)
        for g in range(blk * n_grp // n_blocks, (blk + 1) * n_grp // n_blocks):
            p0 = g * _W
            _gather(a, b, cross, step, p0, n_pix, S)
            Y[:] = pb[0]
            for e in range(n_dir):
                _dir_coefs(e, lw, lb, xw, xb, dtw, dtb, al, be)
                _scan_blk(S, e, e == 1, lw, lb, xw, xb, al, be, A, D, pw, Y, G0, gpw0, x, u,
                          dt, raw, Bt, Ct, acc, none)
            _scatter(Y, step, 0, p0, n_pix, out)


@njit(inline="always", fastmath=_FM)
def _flush(Q, gp, base, per, stride):
    """gp[base + (r // per) * stride + r % per] += the float64 sum over lanes of Q[r]."""
    for r in range(Q.shape[0]):
        tot = 0.0
        for w in range(_W):
            tot += np.float64(Q[r, w])
        gp[base + (r // per) * stride + r % per] += tot


@njit(cache=True, fastmath=_FM, parallel=True)
def chan_bwd(a, b, cross, n_dir, lw, lb, xw, xb, dtw, dtb, A, D, pw, pb, gout, ga, gb, gpar,
             n_blocks):
    """Backward of `chan_fwd`. gout: (B, n, HW) float32; writes ga, gb (B, n, HW) float32 (gb only if
    cross) and gpar (n_blocks, n_par) float64 partial parameter gradients, laid out as
    [lw k | lb k | xw n_dir*(R+2N) | xb same | dtw n_dir*k*R | dtb n_dir*k | A n_dir*k*N |
    D n_dir*k | pw k | pb 1]. Per group of _W pixels and direction: one forward recompute that
    stores the states (L+1 of them, ~400 KB at L=96: L2-resident), then the adjoint sweep, which
    recomputes the per-token inputs and exp(dt A) (cheaper than storing them); parameter
    gradients are summed per lane in float32 over one group, then into gpar in float64."""
    n, hw = a.shape[1], a.shape[2]
    n_pix = a.shape[0] * hw
    length = 2 * n if cross else n
    k, n_state = A.shape[1], A.shape[2]
    n_rank = dtw.shape[2]
    n_x = n_rank + 2 * n_state
    n_grp = (n_pix + _W - 1) // _W
    step = 2 if cross else 1
    o_lb = k
    o_xw = 2 * k
    o_xb = o_xw + n_dir * n_x
    o_dtw = o_xb + n_dir * n_x
    o_dtb = o_dtw + n_dir * k * n_rank
    o_A = o_dtb + n_dir * k
    o_D = o_A + n_dir * k * n_state
    o_pw = o_D + n_dir * k
    o_pb = o_pw + k
    for blk in prange(n_blocks):
        S = carray(_stack_f32(length * _W), (length, _W))
        G = carray(_stack_f32(length * _W), (length, _W))  # dL/dout per token (0: dropped)
        gs = carray(_stack_f32(length * _W), (length, _W))
        x = carray(_stack_f32(k * n_state * _W), (k, n_state, _W))
        h = carray(_stack_f32(k * n_state * _W), (k, n_state, _W))
        u = carray(_stack_f32(k * _W), (k, _W))
        dt = carray(_stack_f32(k * _W), (k, _W))
        raw = carray(_stack_f32(k * _W), (k, _W))
        Bt = carray(_stack_f32(n_state * _W), (n_state, _W))
        Ct = carray(_stack_f32(n_state * _W), (n_state, _W))
        gB = carray(_stack_f32(n_state * _W), (n_state, _W))
        gC = carray(_stack_f32(n_state * _W), (n_state, _W))
        gr = carray(_stack_f32(n_rank * _W), (n_rank, _W))
        acc = carray(_stack_f32(_W), (_W,))
        gqa = carray(_stack_f32(_W), (_W,))
        gub = carray(_stack_f32(_W), (_W,))
        gst = carray(_stack_f32(_W), (_W,))
        gdv = carray(_stack_f32(_W), (_W,))
        al = carray(_stack_f32(k), (k,))
        be = carray(_stack_f32(k), (k,))
        xs = np.empty((length + 1, k, n_state, _W), np.float32)
        Y0 = np.empty((0, _W), np.float32)
        # per-lane parameter gradients, one stack array per group so that the rows written in
        # one lane loop lie in distinct arrays (no runtime alias checks)
        Qlw = carray(_stack_f32(k * _W), (k, _W))
        Qlb = carray(_stack_f32(k * _W), (k, _W))
        QxwR = carray(_stack_f32(n_dir * n_rank * _W), (n_dir * n_rank, _W))
        QxbR = carray(_stack_f32(n_dir * n_rank * _W), (n_dir * n_rank, _W))
        QxwB = carray(_stack_f32(n_dir * n_state * _W), (n_dir * n_state, _W))
        QxbB = carray(_stack_f32(n_dir * n_state * _W), (n_dir * n_state, _W))
        QxwC = carray(_stack_f32(n_dir * n_state * _W), (n_dir * n_state, _W))
        QxbC = carray(_stack_f32(n_dir * n_state * _W), (n_dir * n_state, _W))
        Qdtw = carray(_stack_f32(n_dir * k * n_rank * _W), (n_dir * k * n_rank, _W))
        Qdtb = carray(_stack_f32(n_dir * k * _W), (n_dir * k, _W))
        QA = carray(_stack_f32(n_dir * k * n_state * _W), (n_dir * k * n_state, _W))
        QD = carray(_stack_f32(n_dir * k * _W), (n_dir * k, _W))
        Qpw = carray(_stack_f32(k * _W), (k, _W))
        Qpb = carray(_stack_f32(_W), (1, _W))
        gp = gpar[blk]
        for g in range(blk * n_grp // n_blocks, (blk + 1) * n_grp // n_blocks):
            p0 = g * _W
            _gather(a, b, cross, step, p0, n_pix, S)
            G[:] = _ZERO
            _gather(gout, gout, False, step, p0, n_pix, G)
            gs[:] = _ZERO
            for Q in (Qlw, Qlb, QxwR, QxbR, QxwB, QxbB, QxwC, QxbC, Qdtw, Qdtb, QA, QD, Qpw,
                      Qpb):
                Q[:] = _ZERO
            for t in range(length):
                for w in range(_W):
                    Qpb[0, w] += G[t, w]
            for e in range(n_dir):
                reverse = e == 1
                _dir_coefs(e, lw, lb, xw, xb, dtw, dtb, al, be)
                _scan_blk(S, e, reverse, lw, lb, xw, xb, al, be, A, D, pw, Y0, G,
                          Qpw, x, u, dt, raw, Bt, Ct, acc, xs)
                h[:] = _ZERO
                for i in range(length - 1, -1, -1):   # adjoint over scan steps, last first
                    t = length - 1 - i if reverse else i
                    _tok_blk(S, t, e, lw, lb, xw, xb, al, be, u, dt, raw, Bt, Ct)
                    gB[:] = _ZERO
                    gC[:] = _ZERO
                    gr[:] = _ZERO
                    gst[:] = _ZERO
                    for j in range(k):
                        pj, dj, lwj = pw[j], D[e, j], lw[j]
                        for w in range(_W):
                            gqa[w] = _ZERO
                            gub[w] = _ZERO
                        for n_ in range(n_state):
                            a_jn = A[e, j, n_]
                            xc, xp, hj = xs[i + 1, j, n_], xs[i, j, n_], h[j, n_]
                            pA = QA[(e * k + j) * n_state + n_]
                            for w in range(_W):
                                gyw = G[t, w] * pj
                                xn = xc[w]
                                gC[n_, w] += gyw * xn
                                hn = hj[w] + gyw * Ct[n_, w]
                                gB[n_, w] += hn * (dt[j, w] * u[j, w])
                                da = _exp32(dt[j, w] * a_jn)
                                q = hn * xp[w] * da
                                gqa[w] += q * a_jn
                                gub[w] += hn * Bt[n_, w]
                                pA[w] += q * dt[j, w]
                                hj[w] = hn * da
                        for w in range(_W):
                            gyw = G[t, w] * pj
                            uj = u[j, w]
                            gu = dt[j, w] * gub[w] + gyw * dj
                            QD[e * k + j, w] += gyw * uj
                            s = S[t, w]
                            Qlw[j, w] += gu * s
                            Qlb[j, w] += gu
                            gdt = gqa[w] + uj * gub[w]
                            gd = gdt * (_ONE if raw[j, w] > _TWENTY else _sigmoid32(raw[j, w]))
                            Qdtb[e * k + j, w] += gd
                            gst[w] += gu * lwj
                            gdv[w] = gd
                        for m in range(n_rank):          # lanes innermost: vectorises
                            xwm, xbm, dwm = xw[e, m], xb[e, m], dtw[e, j, m]
                            prow = Qdtw[(e * k + j) * n_rank + m]
                            for w in range(_W):
                                prow[w] += gdv[w] * (xwm * S[t, w] + xbm)
                                gr[m, w] += gdv[w] * dwm
                    for m in range(n_rank):
                        xwm = xw[e, m]
                        for w in range(_W):
                            QxwR[e * n_rank + m, w] += gr[m, w] * S[t, w]
                            QxbR[e * n_rank + m, w] += gr[m, w]
                            gst[w] += gr[m, w] * xwm
                    for n_ in range(n_state):
                        qb = n_rank + n_
                        qc = n_rank + n_state + n_
                        xwb, xwc = xw[e, qb], xw[e, qc]
                        for w in range(_W):
                            s = S[t, w]
                            QxwB[e * n_state + n_, w] += gB[n_, w] * s
                            QxbB[e * n_state + n_, w] += gB[n_, w]
                            QxwC[e * n_state + n_, w] += gC[n_, w] * s
                            QxbC[e * n_state + n_, w] += gC[n_, w]
                            gst[w] += gB[n_, w] * xwb + gC[n_, w] * xwc
                    for w in range(_W):
                        gs[t, w] += gst[w]
            _flush(Qlw, gp, 0, k, 0)
            _flush(Qlb, gp, o_lb, k, 0)
            _flush(QxwR, gp, o_xw, n_rank, n_x)
            _flush(QxbR, gp, o_xb, n_rank, n_x)
            _flush(QxwB, gp, o_xw + n_rank, n_state, n_x)
            _flush(QxbB, gp, o_xb + n_rank, n_state, n_x)
            _flush(QxwC, gp, o_xw + n_rank + n_state, n_state, n_x)
            _flush(QxbC, gp, o_xb + n_rank + n_state, n_state, n_x)
            _flush(Qdtw, gp, o_dtw, k * n_rank, k * n_rank)
            _flush(Qdtb, gp, o_dtb, k, k)
            _flush(QA, gp, o_A, k * n_state, k * n_state)
            _flush(QD, gp, o_D, k, k)
            _flush(Qpw, gp, o_pw, k, 0)
            _flush(Qpb, gp, o_pb, 1, 0)
            _scatter(gs, step, 0, p0, n_pix, ga)
            if cross:
                _scatter(gs, 2, 1, p0, n_pix, gb)
