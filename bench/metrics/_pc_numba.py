"""Numba kernels of the per-orientation arithmetic of bench.metrics.phase_congruency (private).

Single precision as the NumPy sequence they replace (the same float32 operations in the same
order); the amplitudes |EO| are sqrt(re^2 + im^2) formed in double and rounded once to float32
(NumPy's complex64 abs, hypotf, and its SIMD complex products may differ in the last bit: about
1e-7 relative, far below Qp's tolerance). One pass over the pixels instead of about thirty NumPy
passes over float32 planes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# the scales and orientations of myphasecong3 (bench.metrics.phase_congruency._PC): loops over
# them have a constant trip count, so that they unroll and the loop over the pixels vectorises
NSCALE = 4
NORIENT = 6


@njit(cache=True, error_model="numpy")
def orientation_pass(eo, eps, slope, offset, an0, arg, out):
    """eo: (NSCALE, 2 P) float32, the filtered transforms EO_s of one orientation over P pixels,
    (real, imaginary) interleaved. Fills, per pixel p, an0[p] = |EO_0|,
    arg[p] = slope sum_an / (max_s |EO_s| + eps) + offset (the exponent of the frequency-spread
    weight) and out[2p:2p+2] = (sum_an, energy) (interleaved, so that the loop writes three
    arrays and vectorises): sum_an = sum_s |EO_s|; energy = (|sum EO|^2 -
    sum_s |Im(EO_s conj(sum EO))|) / (|sum EO| + eps), i.e.
    sum_s (E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|) before the noise threshold. Flat
    arrays with constant index factors: the interleaved accesses are then recognised as such."""
    f32, f64 = np.float32, np.float64
    e32, s32, o32 = f32(eps), f32(slope), f32(offset)
    for p in range(an0.shape[0]):
        re = eo[0, 2 * p]
        im = eo[0, 2 * p + 1]
        a0 = f32(np.sqrt(f64(re) * f64(re) + f64(im) * f64(im)))
        sa = a0
        mx = a0
        sr = re
        si = im
        for s in range(1, NSCALE):
            re = eo[s, 2 * p]
            im = eo[s, 2 * p + 1]
            a = f32(np.sqrt(f64(re) * f64(re) + f64(im) * f64(im)))
            sa = sa + a
            mx = max(mx, a)
            sr = sr + re
            si = si + im
        xe = f32(np.sqrt(f64(sr) * f64(sr) + f64(si) * f64(si)))
        en = xe * xe
        nsi = -si
        for s in range(NSCALE):  # Im(EO_s conj(sum EO)) = re_s (-si) + im_s sr
            en = en - abs(eo[s, 2 * p] * nsi + eo[s, 2 * p + 1] * sr)
        an0[p] = a0
        arg[p] = (sa / (mx + e32)) * s32 + o32
        out[2 * p] = sa
        out[2 * p + 1] = en / (xe + e32)


@njit(cache=True, error_model="numpy")
def weight_pass(out, threshold, expo, energy, sum_an):
    """From orientation_pass's out and expo = exp(arg): energy = max(energy - threshold, 0) /
    (expo + 1), in float32, and sum_an, each into its own plane."""
    t = np.float32(threshold)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for p in range(energy.shape[0]):
        energy[p] = max(out[2 * p + 1] - t, zero) / (expo[p] + one)
    for p in range(energy.shape[0]):
        sum_an[p] = out[2 * p]


@njit(cache=True, error_model="numpy")
def overall_pc(energies, sums_an, eps, pc):
    """pc = sum_o energy_o / (sum_o sumAn_o + eps): the orientation sums in float32 (in order),
    the ratio in double. energies, sums_an: (norient, P) float32; pc: (P,) float64."""
    for p in range(pc.shape[0]):
        e = energies[0, p]
        s = sums_an[0, p]
        for o in range(1, NORIENT):
            e = e + energies[o, p]
            s = s + sums_an[o, p]
        pc[p] = np.float64(e) / (np.float64(s) + eps)


@njit(cache=True, error_model="numpy")
def moments(energies, sums_an, weights, eps, sign, out):
    """out = (covx2 + covy2 + sign sqrt((covx2 - covy2)^2 + covxy^2) + sign eps) / 2: the
    maximum (sign 1) or minimum (sign -1) moment of the orientation covariance, with
    (covx2, covy2, covxy) = weights @ (energy_o / sumAn_o)^2 summed over the orientations in
    float32 (in order), then double. weights: (3, norient) float32."""
    w = weights
    for p in range(out.shape[0]):
        r = energies[0, p] / sums_an[0, p]
        r = r * r
        x2 = w[0, 0] * r
        y2 = w[1, 0] * r
        xy = w[2, 0] * r
        for o in range(1, NORIENT):
            r = energies[o, p] / sums_an[o, p]
            r = r * r
            x2 = x2 + w[0, o] * r
            y2 = y2 + w[1, o] * r
            xy = xy + w[2, o] * r
        cx2, cy2, cxy = np.float64(x2), np.float64(y2), np.float64(xy)
        d = cx2 - cy2
        denom = np.sqrt(d * d + cxy * cxy) + eps
        out[p] = (cx2 + cy2 + sign * denom) / 2
