"""Numba kernel of the FMI pattern table for binary feature maps (private; use
bench.metrics.fmi._fmi_binary)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def pair_pattern_keys(ea, eb, ef, w, key_a, key_b):
    """Keys of the (A, F) and (B, F) window pairs of three 0/1 uint8 maps, one per w x w window
    ('valid', row-major, as bench.metrics.fmi._windows orders them): with n = w w and each
    window's pattern P (bit k = element k of MATLAB's column-major sub(:)),
    key_a = P_A << n | P_F and key_b = (P_A == P_F) << 2n | P_B << n | P_F (int64, R C each)."""
    rows = ef.shape[0] - w + 1
    cols = ef.shape[1] - w + 1
    n = w * w
    pa = np.empty(cols, np.int64)
    pb = np.empty(cols, np.int64)
    pf = np.empty(cols, np.int64)
    for r in range(rows):
        pa[:] = 0
        pb[:] = 0
        pf[:] = 0
        for j in range(w):
            for i in range(w):
                bit = j * w + i
                ra, rb, rf = ea[r + i, j:j + cols], eb[r + i, j:j + cols], ef[r + i, j:j + cols]
                for c in range(cols):
                    pa[c] |= np.int64(ra[c]) << bit
                    pb[c] |= np.int64(rb[c]) << bit
                    pf[c] |= np.int64(rf[c]) << bit
        out_a = key_a[r * cols:(r + 1) * cols]
        out_b = key_b[r * cols:(r + 1) * cols]
        for c in range(cols):
            out_a[c] = (pa[c] << n) | pf[c]
            out_b[c] = (np.int64(pa[c] == pf[c]) << (2 * n)) | (pb[c] << n) | pf[c]
