"""Numba kernel of one dwt filter pass (private; use bench.metrics.fmi_features.dwt2_symmetric)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy")
def dwt_axis0(x, ix, lo, hi, out_lo, out_hi):
    """out[j, :] = sum_k h[k] xe[2j + F - k, :] for h = lo, hi (F taps), where the extended
    input's row i is x[ix[i]] (the extension as a row index map, not copied), the sum over k in
    order k = 0 .. F-1 for every output (vectorised along the rows' length). Two output rows
    (j, j + 1) and both filters run in the same sweep down the input rows, so that each loaded
    value feeds four running sums (input row 2j + F - k is tap k of output j and tap k + 2 of
    output j + 1); every output still adds its taps in the order k = 0 .. F-1, so the values
    are those of a plain loop over k."""
    f = lo.shape[0]
    cols = x.shape[1]
    n_out = out_lo.shape[0]
    paired = n_out - n_out % 2 if f >= 3 else 0  # rows done two at a time
    for j in range(0, paired, 2):
        a0, b0, a1, b1 = out_lo[j], out_hi[j], out_lo[j + 1], out_hi[j + 1]
        top = 2 * j + f + 2  # input row of tap 0 of output j + 1
        # taps 0 and 1 of output j + 1 (rows above output j's first tap)
        r0, r1 = x[ix[top]], x[ix[top - 1]]
        for c in range(cols):
            a1[c] = lo[0] * r0[c] + lo[1] * r1[c]
        for c in range(cols):
            b1[c] = hi[0] * r0[c] + hi[1] * r1[c]
        # row top - 2 - k: tap k of output j and tap k + 2 of output j + 1
        r0 = x[ix[top - 2]]
        for c in range(cols):
            a0[c] = lo[0] * r0[c]
            b0[c] = hi[0] * r0[c]
            a1[c] = a1[c] + lo[2] * r0[c]
            b1[c] = b1[c] + hi[2] * r0[c]
        k = 1
        while k + 4 <= f - 2:
            r0, r1 = x[ix[top - 2 - k]], x[ix[top - 3 - k]]
            r2, r3 = x[ix[top - 4 - k]], x[ix[top - 5 - k]]
            l0, l1, l2, l3 = lo[k], lo[k + 1], lo[k + 2], lo[k + 3]
            h0, h1, h2, h3 = hi[k], hi[k + 1], hi[k + 2], hi[k + 3]
            m0, m1, m2, m3 = lo[k + 2], lo[k + 3], lo[k + 4], lo[k + 5]
            g0, g1, g2, g3 = hi[k + 2], hi[k + 3], hi[k + 4], hi[k + 5]
            for c in range(cols):
                v0, v1, v2, v3 = r0[c], r1[c], r2[c], r3[c]
                a0[c] = (((a0[c] + l0 * v0) + l1 * v1) + l2 * v2) + l3 * v3
                b0[c] = (((b0[c] + h0 * v0) + h1 * v1) + h2 * v2) + h3 * v3
                a1[c] = (((a1[c] + m0 * v0) + m1 * v1) + m2 * v2) + m3 * v3
                b1[c] = (((b1[c] + g0 * v0) + g1 * v1) + g2 * v2) + g3 * v3
            k += 4
        while k < f - 2:
            r0 = x[ix[top - 2 - k]]
            l0, h0, m0, g0 = lo[k], hi[k], lo[k + 2], hi[k + 2]
            for c in range(cols):
                v0 = r0[c]
                a0[c] = a0[c] + l0 * v0
                b0[c] = b0[c] + h0 * v0
                a1[c] = a1[c] + m0 * v0
                b1[c] = b1[c] + g0 * v0
            k += 1
        # the last two taps of output j (below output j + 1's last)
        for k in (f - 2, f - 1):
            r0 = x[ix[top - 2 - k]]
            l0, h0 = lo[k], hi[k]
            for c in range(cols):
                a0[c] = a0[c] + l0 * r0[c]
            for c in range(cols):
                b0[c] = b0[c] + h0 * r0[c]
    for j in range(paired, n_out):  # the rest one at a time
        al, ah = out_lo[j], out_hi[j]
        base = 2 * j + f
        rb = x[ix[base]]
        for c in range(cols):
            al[c] = lo[0] * rb[c]
        for c in range(cols):
            ah[c] = hi[0] * rb[c]
        for k in range(1, f):
            r0 = x[ix[base - k]]
            l0, h0 = lo[k], hi[k]
            for c in range(cols):
                al[c] = al[c] + l0 * r0[c]
            for c in range(cols):
                ah[c] = ah[c] + h0 * r0[c]
