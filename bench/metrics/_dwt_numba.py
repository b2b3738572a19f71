"""Numba kernel of one dwt filter pass (private; use bench.metrics.fmi_features.dwt2_symmetric)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy")
def dwt_axis0(xe, lo, hi, out_lo, out_hi):
    """out[j, :] = sum_k h[k] xe[2j + F - k, :] for h = lo, hi (F taps), the sum over k in
    order k = 0 .. F-1 for every output (vectorised along the rows' length; four taps per pass
    over a row, added one after the other, so that the running sums stay in registers)."""
    f = lo.shape[0]
    cols = xe.shape[1]
    for j in range(out_lo.shape[0]):
        for h, out in ((lo, out_lo), (hi, out_hi)):
            a = out[j]
            row = xe[2 * j + f]
            h0 = h[0]
            for c in range(cols):
                a[c] = h0 * row[c]
            k = 1
            while k + 4 <= f:
                r0, r1, r2, r3 = (xe[2 * j + f - k], xe[2 * j + f - k - 1],
                                  xe[2 * j + f - k - 2], xe[2 * j + f - k - 3])
                g0, g1, g2, g3 = h[k], h[k + 1], h[k + 2], h[k + 3]
                for c in range(cols):
                    a[c] = (((a[c] + g0 * r0[c]) + g1 * r1[c]) + g2 * r2[c]) + g3 * r3[c]
                k += 4
            while k < f:
                r0 = xe[2 * j + f - k]
                g0 = h[k]
                for c in range(cols):
                    a[c] = a[c] + g0 * r0[c]
                k += 1
