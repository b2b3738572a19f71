"""Numba kernels of MATLAB edge(I)'s Sobel step (private; use
bench.metrics.fmi_features.matlab_edge_sobel)."""
from __future__ import annotations

from numba import njit


@njit(cache=True, error_model="numpy")
def sobel_magnitudes(x, bx, by, b):
    """|bx|, |by| and b = bx^2 + by^2 of imfilter(x, fspecial('sobel')'/8 and
    fspecial('sobel')/8, 'replicate'), each filter summed term by term in the order of
    Octave's conv2 (the kernel rotated by 180 degrees, column-major; a negative coefficient
    subtracts |c| x, the same IEEE result as adding c x), so that exact ties break as there."""
    h, w = x.shape
    a, t = 0.125, 0.25  # |coefficients| 1/8 and 2/8
    for i in range(h):
        i0, i2 = max(i - 1, 0), min(i + 1, h - 1)  # replicate padding
        r0, r1, r2 = x[i0], x[i], x[i2]
        ox, oy, ob = bx[i], by[i], b[i]
        for j in range(w):
            j0, j2 = max(j - 1, 0), min(j + 1, w - 1)
            # sobel' / 8: column 2 rows 2, 1, 0 negative, column 0 rows 2, 1, 0 positive
            gx = -(a * r2[j2])
            gx = gx - t * r1[j2]
            gx = gx - a * r0[j2]
            gx = gx + a * r2[j0]
            gx = gx + t * r1[j0]
            gx = gx + a * r0[j0]
            # sobel / 8: per column 2, 1, 0: row 2 negative, then row 0 positive
            gy = -(a * r2[j2])
            gy = gy + a * r0[j2]
            gy = gy - t * r2[j]
            gy = gy + t * r0[j]
            gy = gy - a * r2[j0]
            gy = gy + a * r0[j0]
            gx, gy = abs(gx), abs(gy)
            ox[j] = gx
            oy[j] = gy
            ob[j] = gx * gx + gy * gy


@njit(cache=True, error_model="numpy")
def thin_edges(bx, by, b, cutoff, tol, out):
    """edge()'s thinning: b > cutoff and a local maximum across the dominant direction
    ((bx >= by - tol and b(r,c-1) <= b(r,c) > b(r,c+1)) or (by >= bx - tol and
    b(r-1,c) <= b(r,c) > b(r+1,c)); a neighbour outside the image passes)."""
    h, w = b.shape
    for i in range(h):
        up, mid, dn = b[max(i - 1, 0)], b[i], b[min(i + 1, h - 1)]
        first, last = i == 0, i == h - 1
        for j in range(w):
            v = mid[j]
            horiz = (j == 0 or mid[j - 1] <= v) and (j == w - 1 or v > mid[j + 1])
            vert = (first or up[j] <= v) and (last or v > dn[j])
            out[i, j] = v > cutoff and ((bx[i, j] >= by[i, j] - tol and horiz)
                                        or (by[i, j] >= bx[i, j] - tol and vert))
