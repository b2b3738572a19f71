"""Numba kernel of one dwt filter pass (private; use bench.metrics.fmi_features.dwt2_symmetric)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy")
def dwt_axis0(xe, lo, hi, out_lo, out_hi):
    """out[j, :] = sum_k h[k] xe[2j + F - k, :] for h = lo, hi (F taps), the sum over k in
    order k = 0 .. F-1 for every output (vectorised along the rows' length). Both filters run
    in the same pass over eight input rows at a time (each loaded value feeds both running
    sums, which stay in registers between the taps); the order of the additions is that of a
    plain loop over k, so the values do not depend on the grouping."""
    f = lo.shape[0]
    cols = xe.shape[1]
    for j in range(out_lo.shape[0]):
        al, ah = out_lo[j], out_hi[j]
        base = 2 * j + f
        row = xe[base]
        l0, h0 = lo[0], hi[0]
        for c in range(cols):
            al[c] = l0 * row[c]
        for c in range(cols):
            ah[c] = h0 * row[c]
        k = 1
        while k + 8 <= f:
            r0, r1, r2, r3 = xe[base - k], xe[base - k - 1], xe[base - k - 2], xe[base - k - 3]
            r4, r5, r6, r7 = (xe[base - k - 4], xe[base - k - 5], xe[base - k - 6],
                              xe[base - k - 7])
            l0, l1, l2, l3, l4, l5, l6, l7 = (lo[k], lo[k + 1], lo[k + 2], lo[k + 3], lo[k + 4],
                                              lo[k + 5], lo[k + 6], lo[k + 7])
            h0, h1, h2, h3, h4, h5, h6, h7 = (hi[k], hi[k + 1], hi[k + 2], hi[k + 3], hi[k + 4],
                                              hi[k + 5], hi[k + 6], hi[k + 7])
            for c in range(cols):
                v0, v1, v2, v3, v4, v5, v6, v7 = r0[c], r1[c], r2[c], r3[c], r4[c], r5[c], \
                    r6[c], r7[c]
                al[c] = (((((((al[c] + l0 * v0) + l1 * v1) + l2 * v2) + l3 * v3) + l4 * v4)
                          + l5 * v5) + l6 * v6) + l7 * v7
                ah[c] = (((((((ah[c] + h0 * v0) + h1 * v1) + h2 * v2) + h3 * v3) + h4 * v4)
                          + h5 * v5) + h6 * v6) + h7 * v7
            k += 8
        while k < f:
            r0 = xe[base - k]
            l0, h0 = lo[k], hi[k]
            for c in range(cols):
                al[c] = al[c] + l0 * r0[c]
            for c in range(cols):
                ah[c] = ah[c] + h0 * r0[c]
            k += 1
