"""Numba kernels of the per-orientation arithmetic of bench.metrics.phase_congruency (private).

Single precision as the NumPy sequence they replace (the same float32 operations in the same
order); the amplitudes |EO| are sqrt(re^2 + im^2) in float32 (square and sum rounded to float32,
then a correctly rounded float32 square root: within about 1 ulp, 1e-7 relative, of NumPy's
complex64 abs / hypotf, far below Qp's tolerance, at half the cost of double square roots). One
pass over the pixels instead of about thirty NumPy passes over float32 planes. Qp's local
correlations (qp_correlation) are double precision. Loops that read or write many arrays
(_products writes 12 rows) rely on LLVM's raised alias-check limit (bench.metrics._llvm_options),
set here before the kernels compile.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._llvm_options import raise_vectorizer_check_limit

raise_vectorizer_check_limit()  # before the kernels compile (see the module docstring)

# the scales and orientations of myphasecong3 (bench.metrics.phase_congruency._PC): loops over
# them have a constant trip count, so that they unroll and the loop over the pixels vectorises
NSCALE = 4
NORIENT = 6


@njit(cache=True, error_model="numpy")
def orientation_pass(eo, eps, slope, offset, an0, arg, sum_an, energy, hist):
    """eo: (NSCALE, 2 P) float32, the filtered transforms EO_s of one orientation over P pixels,
    (real, imaginary) interleaved. Fills, per pixel p, an0[p] = |EO_0|,
    arg[p] = slope sum_an / (max_s |EO_s| + eps) + offset (the exponent of the frequency-spread
    weight), sum_an[p] = sum_s |EO_s| and energy[p] = (|sum EO|^2 -
    sum_s |Im(EO_s conj(sum EO))|) / (|sum EO| + eps), i.e.
    sum_s (E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|) before the noise threshold; and
    hist (65536 int32) with the counts of an0's float32 bit patterns' upper 16 bits (for
    median_f32). Flat arrays with constant index factors: the interleaved accesses are then
    recognised as such."""
    f32 = np.float32
    e32, s32, o32 = f32(eps), f32(slope), f32(offset)
    for p in range(an0.shape[0]):
        re = eo[0, 2 * p]
        im = eo[0, 2 * p + 1]
        a0 = np.sqrt(re * re + im * im)  # all float32
        sa = a0
        mx = a0
        sr = re
        si = im
        for s in range(1, NSCALE):
            re = eo[s, 2 * p]
            im = eo[s, 2 * p + 1]
            a = np.sqrt(re * re + im * im)
            sa = sa + a
            mx = max(mx, a)
            sr = sr + re
            si = si + im
        xe = np.sqrt(sr * sr + si * si)
        en = xe * xe
        nsi = -si
        for s in range(NSCALE):  # Im(EO_s conj(sum EO)) = re_s (-si) + im_s sr
            en = en - abs(eo[s, 2 * p] * nsi + eo[s, 2 * p + 1] * sr)
        an0[p] = a0
        arg[p] = (sa / (mx + e32)) * s32 + o32
        sum_an[p] = sa
        energy[p] = en / (xe + e32)
    hist[:] = 0
    bits = an0.view(np.uint32)
    for p in range(bits.shape[0]):
        hist[bits[p] >> np.uint32(16)] += 1


@njit(cache=True, error_model="numpy")
def median_f32(values, hist):
    """The two middle order statistics (ranks (n-1)//2 and n//2) of float32 values >= 0 (NaN
    last, as np.partition), exactly: hist counts the values by the upper 16 bits of their bit
    patterns (which order them), so only the values of the one or two buckets holding the
    middle ranks are sorted. The buckets are found by sums of 64 counts, then count by count;
    the values are scanned 16 at a time, and only a group holding a candidate is looked at
    value by value."""
    n = values.shape[0]
    k0, k1 = (n - 1) // 2, n // 2
    nh = hist.shape[0]
    below = 0
    start = 0
    for blk in range(0, nh - 63, 64):  # skip whole groups of buckets below rank k0
        c = 0
        for k in range(64):
            c += hist[blk + k]
        if below + c > k0:
            break
        below += c
        start = blk + 64
    b0 = -1
    b1 = -1
    before0 = 0
    for b in range(start, nh):
        c = hist[b]
        if b0 < 0 and below + c > k0:
            b0 = b
            before0 = below
        if below + c > k1:
            b1 = b
            break
        below += c
    size = 0
    for b in range(b0, b1 + 1):
        size += hist[b]
    # the values of buckets b0 .. b1, as int32 bit patterns (unsigned bits >> 16 fits)
    bits = values.view(np.int32)
    cand = np.empty(size, np.int32)
    lo, width = np.uint32(b0), np.uint32(b1 - b0)
    sh = np.uint32(16)
    m = 0
    nblk = n - n % 16
    for s in range(0, nblk, 16):
        hit = False
        for k in range(16):
            hit |= (np.uint32(bits[s + k]) >> sh) - lo <= width
        if hit:
            for k in range(16):
                x = bits[s + k]
                if (np.uint32(x) >> sh) - lo <= width and m < size:
                    cand[m] = x
                    m += 1
    for p in range(nblk, n):
        x = bits[p]
        if (np.uint32(x) >> sh) - lo <= width and m < size:
            cand[m] = x
            m += 1
    cand = cand[:m]
    cand.sort()  # bit patterns of values >= 0 sort as the values (NaN: bucket > inf's)
    out = cand[k0 - before0:k1 - before0 + 1].view(np.float32)
    return out[0], out[out.shape[0] - 1]


@njit(cache=True, error_model="numpy")
def overall_pc_and_moments(energies, sums_an, expo, thresholds, weights, eps, pc, big, small):
    """The noise threshold and frequency-spread weight of each orientation's energy,
    energy_o = max(raw energy_o - threshold_o, 0) / (expo_o + 1) in float32 (expo_o =
    exp(arg) of orientation_pass), then pc = sum_o energy_o / (sum_o sumAn_o + eps) (the
    orientation sums in float32, in order, the ratio in double), and the maximum and minimum
    moments of the orientation covariance, (covx2 + covy2 +- (sqrt((covx2 - covy2)^2 +
    covxy^2) + eps)) / 2, with (covx2, covy2, covxy) = weights @ (energy_o / sumAn_o)^2 summed
    over the orientations in float32 (in order), then double. energies, sums_an, expo:
    (norient, P) float32; thresholds: (norient,) float32; weights: (3, norient) float32; pc,
    big, small: (P,) float64. One pass over the pixels."""
    w = weights
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for p in range(pc.shape[0]):
        e = max(energies[0, p] - thresholds[0], zero) / (expo[0, p] + one)
        s = sums_an[0, p]
        r = e / s
        r = r * r
        x2 = w[0, 0] * r
        y2 = w[1, 0] * r
        xy = w[2, 0] * r
        for o in range(1, NORIENT):
            eo = max(energies[o, p] - thresholds[o], zero) / (expo[o, p] + one)
            so = sums_an[o, p]
            e = e + eo
            s = s + so
            r = eo / so
            r = r * r
            x2 = x2 + w[0, o] * r
            y2 = y2 + w[1, o] * r
            xy = xy + w[2, o] * r
        pc[p] = np.float64(e) / (np.float64(s) + eps)
        cx2, cy2, cxy = np.float64(x2), np.float64(y2), np.float64(xy)
        d = cx2 - cy2
        denom = np.sqrt(d * d + cxy * cxy) + eps
        big[p] = (cx2 + cy2 + denom) / 2
        small[p] = (cx2 + cy2 - denom) / 2


# the quantities Qp's correlation blurs, per pixel: F, F^2, then x, x^2, x F for each of the
# three (masked) sources
_NQ = 11
# Qp's window: 11 taps (fspecial('gaussian', 11, 1.5)), symmetric
_NK = 11


@njit(cache=True, error_model="numpy")
def _products(f1, f2, ff, pc1, pc2, t, n, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, keep):
    """One row's quantities p0 .. p10 (F, F^2, then x, x^2, x F for x = x1, x2, x3; at
    [_NK // 2 + i], after the rows' zero padding, i < n) and keep[i] (bit 0: m3, bit 1: m1,
    bit 2: m2), in one loop. The output rows are separate C-contiguous arguments and the padding
    a constant: LLVM then checks their overlap at run time and vectorises the loop (as views of
    one 2-D array it sees a dependence of unknown distance and leaves it scalar)."""
    one, zero = 1.0, 0.0
    for i in range(n):
        a = pc1[i]
        b = pc2[i]
        v1 = f1[i]
        v2 = f2[i]
        fv = ff[i]
        sel = a > b
        k1 = a > t
        k2 = b > t
        k3 = (a if sel else b) > t
        x1 = v1 * (one if k1 else zero)
        x2 = v2 * (one if k2 else zero)
        x3 = (v1 if sel else v2) * (one if k3 else zero)
        j = i + _NK // 2
        p0[j] = fv
        p1[j] = fv * fv
        p2[j] = x1
        p3[j] = x1 * x1
        p4[j] = x1 * fv
        p5[j] = x2
        p6[j] = x2 * x2
        p7[j] = x2 * fv
        p8[j] = x3
        p9[j] = x3 * x3
        p10[j] = x3 * fv
        keep[i] = np.uint8(k3) | (np.uint8(k1) << 1) | (np.uint8(k2) << 2)


@njit(cache=True, error_model="numpy")
def _hfilter(w, src, dst, n):
    """dst[i] = sum_k w[k] src[i + k], summed in order k = 0 .. 10, for i < n. (Unsigned
    indices: no wraparound test, so that the loop vectorises.)"""
    w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10 = (w[0], w[1], w[2], w[3], w[4], w[5], w[6],
                                                   w[7], w[8], w[9], w[10])
    u = np.uint64
    for i in range(u(n)):
        dst[i] = (((((((((w0 * src[i] + w1 * src[i + u(1)]) + w2 * src[i + u(2)])
                        + w3 * src[i + u(3)]) + w4 * src[i + u(4)])
                      + w5 * src[i + u(5)]) + w6 * src[i + u(6)])
                    + w7 * src[i + u(7)]) + w8 * src[i + u(8)])
                  + w9 * src[i + u(9)]) + w10 * src[i + u(10)]


@njit(cache=True, error_model="numpy")
def _vertical4(w, ring, b, n, out):
    """out[g, i] for g = 0 .. 3, i < n: the vertical filter of ring rows (b + g + k) % 14,
    k = 0 .. 10, with the window's symmetry (w[k] = w[10 - k]):
    w0 (a_0 + a_10) + w1 (a_1 + a_9) + ... + w4 (a_4 + a_6) + w5 a_5, summed in that order.
    Four output rows at once, so that each input row is loaded once for all four."""
    w0, w1, w2, w3, w4, w5 = w[0], w[1], w[2], w[3], w[4], w[5]
    m = ring.shape[0]
    r0, r1, r2, r3, r4, r5, r6 = (ring[b % m], ring[(b + 1) % m], ring[(b + 2) % m],
                                  ring[(b + 3) % m], ring[(b + 4) % m], ring[(b + 5) % m],
                                  ring[(b + 6) % m])
    r7, r8, r9, r10, r11, r12, r13 = (ring[(b + 7) % m], ring[(b + 8) % m], ring[(b + 9) % m],
                                      ring[(b + 10) % m], ring[(b + 11) % m],
                                      ring[(b + 12) % m], ring[(b + 13) % m])
    o0, o1, o2, o3 = out[0], out[1], out[2], out[3]
    for i in range(n):
        a0, a1, a2, a3, a4, a5, a6 = r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i]
        a7, a8, a9, a10, a11, a12, a13 = r7[i], r8[i], r9[i], r10[i], r11[i], r12[i], r13[i]
        o0[i] = ((((w0 * (a0 + a10) + w1 * (a1 + a9)) + w2 * (a2 + a8)) + w3 * (a3 + a7))
                 + w4 * (a4 + a6)) + w5 * a5
        o1[i] = ((((w0 * (a1 + a11) + w1 * (a2 + a10)) + w2 * (a3 + a9)) + w3 * (a4 + a8))
                 + w4 * (a5 + a7)) + w5 * a6
        o2[i] = ((((w0 * (a2 + a12) + w1 * (a3 + a11)) + w2 * (a4 + a10)) + w3 * (a5 + a9))
                 + w4 * (a6 + a8)) + w5 * a7
        o3[i] = ((((w0 * (a3 + a13) + w1 * (a4 + a12)) + w2 * (a5 + a11)) + w3 * (a6 + a10))
                 + w4 * (a7 + a9)) + w5 * a8


@njit(cache=True, error_model="numpy")
def _ratios(v, g, keep, n, c, acc):
    """acc[i] += max(r1, r2, r3) (np.maximum's order: NaN propagates) where keep[i] has bit 0
    (m3), for i < n, from the filtered quantities v[q, g, i]; r1, r2 are 0 outside m1, m2.
    Branch-free, so that the loop vectorises; returns the number of m3 pixels."""
    cnt = 0
    for i in range(n):
        m = keep[i]
        muf = v[0, g, i]
        sf = v[1, g, i] - muf * muf
        mu = v[2, g, i]
        r1 = ((v[4, g, i] - mu * muf) + c) / (np.sqrt(abs((v[3, g, i] - mu * mu) * sf)) + c)
        mu = v[5, g, i]
        r2 = ((v[7, g, i] - mu * muf) + c) / (np.sqrt(abs((v[6, g, i] - mu * mu) * sf)) + c)
        mu = v[8, g, i]
        r3 = ((v[10, g, i] - mu * muf) + c) / (np.sqrt(abs((v[9, g, i] - mu * mu) * sf)) + c)
        best = r1 if (m & 2) != 0 else 0.0
        r2 = r2 if (m & 4) != 0 else 0.0
        best = r2 if ((r2 > best) | (r2 != r2)) & (best == best) else best
        best = r3 if ((r3 > best) | (r3 != r3)) & (best == best) else best
        acc[i] += best if (m & 1) != 0 else 0.0
        cnt += m & 1
    return cnt


@njit(cache=True, error_model="numpy")
def qp_correlation(f1, f2, ff, pc1, pc2, threshold, kern, c):
    """Liu's correlation_coeffcient for one feature map -> (sum, count): the sum over the
    pixels of the max-map mask m3 of max(r1, r2, r3) and the number of those pixels, with
    r_i = (sigma_{x_i F} + c) / (sqrt(|sigma_{x_i}^2 sigma_F^2|) + c) (0 outside mask m_i),
    x_1 = f1 m1, x_2 = f2 m2, x_3 = fmax m3; m1 = pc1 > t, m2 = pc2 > t, fmax and pcmax the
    values of the source with the larger phase congruency (pc1 > pc2: source 1), m3 =
    pcmax > t. The local moments are filter2(w, ., 'same') of the products (zero padding), w
    the separable Gaussian kern (x) kern (11 taps, symmetric), all in double: the horizontal
    filter (taps summed in order), then the vertical (symmetric pairs summed, see _vertical4).

    One pass over the image rows: each row's products (planar, one row per quantity) are
    filtered horizontally into a ring of rows; the vertical filter runs four output rows at a
    time (skipped where none of the four rows holds a pixel of m3) and the ratios are formed
    for whole rows, branch-free, and added per column at m3's pixels; the column sums are
    added at the end. Every pixel's ratio uses the same operations in the same order."""
    rows, cols = ff.shape
    rad = _NK // 2
    nring = 4 + 2 * rad                  # the 14 input rows of four output rows
    prod = np.zeros((_NQ, cols + 2 * rad))  # one row's products, zero-padded columns
    ring = np.zeros((_NQ, nring, cols))  # horizontally filtered products, row r at r % 14
    vert = np.empty((_NQ, 4, cols))      # the vertical filter of four output rows
    keep = np.empty((rows, cols), np.uint8)  # bit 0: m3, bit 1: m1, bit 2: m2
    acc = np.zeros(cols)
    count = 0
    done = 0                             # rows filtered horizontally so far
    for r0 in range(0, rows, 4):
        # rows up to r0 + 3 + rad enter the ring (zeros below the image; those above it are
        # the ring's initial zeros)
        while done <= r0 + 3 + rad:
            slot = done % nring
            if done < rows:
                _products(f1[done], f2[done], ff[done], pc1[done], pc2[done], threshold, cols,
                          prod[0], prod[1], prod[2], prod[3], prod[4], prod[5], prod[6],
                          prod[7], prod[8], prod[9], prod[10], keep[done])
                for q in range(_NQ):
                    _hfilter(kern, prod[q], ring[q, slot], cols)
            else:
                ring[:, slot, :] = 0.0
            done += 1
        r1 = min(r0 + 4, rows)
        hit = np.uint8(0)
        for g in range(r0, r1):
            for j in range(cols):
                hit |= keep[g, j]
        if (hit & 1) == 0:
            continue
        for q in range(_NQ):
            _vertical4(kern, ring[q], r0 - rad, cols, vert[q])
        for g in range(r1 - r0):
            count += _ratios(vert, g, keep[r0 + g], cols, c, acc)
    total = 0.0
    for j in range(cols):
        total += acc[j]
    return total, count
