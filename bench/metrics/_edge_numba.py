"""Numba kernels of MATLAB edge(I)'s Sobel step (private; use
bench.metrics.fmi_features.matlab_edge_sobel)."""
from __future__ import annotations

from numba import njit


@njit(inline="always", error_model="numpy")
def _sobel_pixel(r0, r1, r2, j0, j, j2, ox, oy, ob):
    """One pixel of sobel_magnitudes, its neighbour columns j0, j2 given (clamped at the
    borders)."""
    a, t = 0.125, 0.25  # |coefficients| 1/8 and 2/8
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
def sobel_magnitudes(x, bx, by, b):
    """|bx|, |by| and b = bx^2 + by^2 of imfilter(x, fspecial('sobel')'/8 and
    fspecial('sobel')/8, 'replicate'), each filter summed term by term in the order of
    Octave's conv2 (the kernel rotated by 180 degrees, column-major; a negative coefficient
    subtracts |c| x, the same IEEE result as adding c x), so that exact ties break as there.
    The border columns are done apart, so that the interior loop reads its neighbours
    contiguously (SIMD)."""
    h, w = x.shape
    for i in range(h):
        i0, i2 = max(i - 1, 0), min(i + 1, h - 1)  # replicate padding
        r0, r1, r2 = x[i0], x[i], x[i2]
        ox, oy, ob = bx[i], by[i], b[i]
        _sobel_pixel(r0, r1, r2, 0, 0, min(1, w - 1), ox, oy, ob)
        for j in range(1, w - 1):
            _sobel_pixel(r0, r1, r2, j - 1, j, j + 1, ox, oy, ob)
        if w > 1:
            _sobel_pixel(r0, r1, r2, w - 2, w - 1, w - 1, ox, oy, ob)


@njit(inline="always", error_model="numpy")
def _thin_pixel(gx, gy, up, mid, dn, jl, j, jr, left_ok, right_ok, first, last, cutoff, tol,
                o):
    """One pixel of thin_edges: neighbour columns jl, jr (clamped at the borders); left_ok /
    right_ok: that neighbour is outside the image (the test passes)."""
    v = mid[j]
    horiz = (left_ok | (mid[jl] <= v)) & (right_ok | (v > mid[jr]))
    vert = (first | (up[j] <= v)) & (last | (v > dn[j]))
    o[j] = (v > cutoff) & (((gx[j] >= gy[j] - tol) & horiz) | ((gy[j] >= gx[j] - tol) & vert))


@njit(cache=True, error_model="numpy")
def thin_edges(bx, by, b, cutoff, tol, out):
    """edge()'s thinning: b > cutoff and a local maximum across the dominant direction
    ((bx >= by - tol and b(r,c-1) <= b(r,c) > b(r,c+1)) or (by >= bx - tol and
    b(r-1,c) <= b(r,c) > b(r+1,c)); a neighbour outside the image passes). Branch-free
    (& and | of the comparisons) with the border columns apart, so that the loop over a row's
    interior is SIMD."""
    h, w = b.shape
    for i in range(h):
        up, mid, dn = b[max(i - 1, 0)], b[i], b[min(i + 1, h - 1)]
        first, last = i == 0, i == h - 1
        gx, gy, o = bx[i], by[i], out[i]
        _thin_pixel(gx, gy, up, mid, dn, 0, 0, min(1, w - 1), True, w == 1, first, last, cutoff,
                    tol, o)
        for j in range(1, w - 1):
            _thin_pixel(gx, gy, up, mid, dn, j - 1, j, j + 1, False, False, first, last, cutoff,
                        tol, o)
        if w > 1:
            _thin_pixel(gx, gy, up, mid, dn, w - 2, w - 1, w - 1, False, True, first, last,
                        cutoff, tol, o)
