"""GTF: Gradient Transfer Fusion (Ma, Chen, Li & Huang, Information Fusion 31, 2016).

The fused image X keeps the infrared intensities and the visible gradients:

    X = V + U,   U = argmin_U  || U - (I - V) ||_1 + lambda * TV(U)

(I infrared, V visible, both in [0, 1]; TV the isotropic total variation, summed over channels as a
vector-valued TV when V is colour). The authors' code, run by VIFB (`run_GTF.m`, lambda = 4),
minimises this l1-TV functional with NUMIPAD's iteratively reweighted norm (IRN) solver
(Rodriguez & Wohlberg, IEEE TIP 2009) in its "substitution" variant: `loops` = 5 outer
reweighting steps, each solving one weighted quadratic problem by conjugate gradients to a
tolerance of 1/`rrs` of its initial relative residual, with the fidelity and regularisation
weights' thresholds adapted from 1 % / 5 % histogram cut-offs, starting from U0 = I - V. The port
follows that solver step by step on whole arrays; the iteration counts are parameters.

Colour: the original is called with the RGB visible image and the grey infrared image, so
U is a 3-channel image whose TV couples the channels (one regularisation weight per pixel);
`fuse_colour` does the same (faithfulness mode 'native'); `fuse` is the one-channel case.
"""
from __future__ import annotations

import numpy as np

from methods.base import register_method


def forward_dx(u: np.ndarray) -> np.ndarray:
    """Horizontal forward difference along the last axis, zero in the last column."""
    d = np.zeros_like(u)
    d[..., :-1] = u[..., 1:] - u[..., :-1]
    return d


def forward_dx_t(w: np.ndarray) -> np.ndarray:
    """Transpose of `forward_dx` (the last column of w does not enter)."""
    out = np.zeros_like(w)
    out[..., :-1] -= w[..., :-1]
    out[..., 1:] += w[..., :-1]
    return out


def forward_dy(u: np.ndarray) -> np.ndarray:
    """Vertical forward difference along the second-last axis, zero in the last row."""
    d = np.zeros_like(u)
    d[..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
    return d


def forward_dy_t(w: np.ndarray) -> np.ndarray:
    """Transpose of `forward_dy`."""
    out = np.zeros_like(w)
    out[..., :-1, :] -= w[..., :-1, :]
    out[..., 1:, :] += w[..., :-1, :]
    return out


def histogram_cutoff(values: np.ndarray, fraction: float) -> tuple[np.ndarray, int] | None:
    """MATLAB `hist(values, linspace-like 1000 centres from min to max)` and the first bin whose
    cumulative share exceeds `fraction` -> (bin centres, that bin's index); None when the values
    are all equal (the original's histogram is then undefined)."""
    lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        return None
    step = (hi - lo) / 999.0
    centres = lo + step * np.arange(int(np.floor((hi - lo) / step + 1e-10)) + 1)
    mids = (centres[:-1] + centres[1:]) / 2.0
    counts = np.bincount(np.searchsorted(mids, values.ravel(), side="right"),
                         minlength=centres.size)
    share = np.cumsum(counts) / values.size
    return centres, int(np.argmax(share > fraction))


def regularisation_weights(u: np.ndarray, cutoff: float, fallback: float = 1e-4) -> np.ndarray:
    """IRN weights of the TV term for q = 1: 2 / sqrt(max(|grad u|^2, eps_R)), with eps_R the
    histogram cut-off of |grad u|^2 (summed over channels); `fallback` (NUMIPAD's fixed eps_R)
    when the gradient magnitude is constant."""
    mag2 = np.sum(forward_dx(u) ** 2 + forward_dy(u) ** 2, axis=0)
    cut = histogram_cutoff(mag2, cutoff)
    if cut is None:
        eps = max(float(mag2.max()), fallback)
    else:
        centres, pos = cut
        eps = centres[pos] if centres[pos] > 0 else centres[min(pos + 1, centres.size - 1)]
    return 2.0 / np.sqrt(np.maximum(mag2, eps))


def fidelity_weights(r: np.ndarray, cutoff: float, fallback: float = 1e-2) -> np.ndarray:
    """IRN substitution weights of the l1 fidelity term (p = 1): sqrt(max(|r|, eps_F) / 2), with
    eps_F one bin above the histogram cut-off of |r|; `fallback` (NUMIPAD's fixed eps_F) when |r|
    is constant."""
    absr = np.abs(r)
    cut = histogram_cutoff(absr, cutoff)
    if cut is None:
        eps = max(float(absr.max()), fallback)
    else:
        centres, pos = cut
        eps = centres[min(pos + 1, centres.size - 1)]
    return np.sqrt(0.5 * np.maximum(absr, eps))


def conjugate_gradient(apply_a, b: np.ndarray, x0: np.ndarray, rtol: float,
                       maxiter: int) -> tuple[np.ndarray, int]:
    """Unpreconditioned CG as MATLAB's pcg runs it: stop when ||b - A x|| <= rtol ||b|| (checked
    on the true residual); returns (x, iterations), 0 iterations when x0 already meets the bar.

    Hand-written rather than scipy.sparse.linalg.cg because the outer IRN loop stops on the
    iteration count (pcg's `iter` output), which SciPy does not return.
    """
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return np.zeros_like(b), 0
    tol = rtol * bnorm
    x = x0.copy()
    r = b - apply_a(x)
    if float(np.linalg.norm(r)) <= tol:
        return x, 0
    p = r.copy()
    rho = float(np.vdot(r, r))
    for it in range(1, maxiter + 1):
        q = apply_a(p)
        pq = float(np.vdot(p, q))
        if not pq > 0:
            return x, it
        alpha = rho / pq
        x += alpha * p
        r -= alpha * q
        if float(np.linalg.norm(r)) <= tol:
            r = b - apply_a(x)  # confirm on the true residual, as pcg does
            if float(np.linalg.norm(r)) <= tol:
                return x, it
        rho_new = float(np.vdot(r, r))
        p = r + (rho_new / rho) * p
        rho = rho_new
    return x, maxiter


def l1_tv_irn(s: np.ndarray, lam: float = 4.0, loops: int = 5, rrs: float = 5.0,
              cg_maxiter: int = 500, eps_r_cutoff: float = 0.01,
              eps_f_cutoff: float = 0.05) -> np.ndarray:
    """Minimise ||u - s||_1 + lam * TV(u) by IRN (substitution variant) from u0 = s.

    s: C x H x W float64 (C channels share one TV weight per pixel). Returns u, same shape.
    """
    s = np.asarray(s, dtype=np.float64)
    u = s.copy()
    for k in range(loops):
        if k == 0:
            # u0 == s: the original's start-up fidelity weight (2/p) * 0.1^((2-p)/2) for p = 1
            wf = np.full_like(s, 2.0 * np.sqrt(0.1))
        else:
            wf = fidelity_weights(u - s, eps_f_cutoff)
        wr = regularisation_weights(u, eps_r_cutoff)

        def apply_a(v, wf=wf, wr=wr):
            x = wf * v
            return v + lam * wf * (forward_dx_t(wr * forward_dx(x)) + forward_dy_t(wr * forward_dy(x)))

        b = s / wf
        v = u / wf
        bnorm = float(np.linalg.norm(b))
        relres = float(np.linalg.norm(apply_a(v) - b)) / bnorm if bnorm else 0.0
        v, iterations = conjugate_gradient(apply_a, b, v, relres / rrs, cg_maxiter)
        u = wf * v
        if iterations == 0:
            break
    return u


@register_method("gtf", tasks=["ivf"], kind="classical", baseline=True,
                 description="Gradient transfer fusion: l1-TV keeps IR intensities, visible gradients",
                 paper="Ma et al., Infrared and visible image fusion via gradient transfer and total "
                       "variation minimization, Information Fusion 2016",
                 year=2016,
                 params={"lam": 4.0, "loops": 5, "rrs": 5.0, "cg_maxiter": 500},
                 reference={"vifb": ("GTF", "native")})
class GTF:
    """Gradient transfer fusion; sources (infrared, visible) in [0, 1].

    lam: TV weight (VIFB's run script: 4). loops: IRN reweighting steps (5). rrs: each CG solve
    reduces its relative residual by this factor (5). cg_maxiter: CG iteration cap (500).
    """

    version = "1"

    def __init__(self, lam: float = 4.0, loops: int = 5, rrs: float = 5.0, cg_maxiter: int = 500):
        self.lam, self.loops, self.rrs, self.cg_maxiter = float(lam), int(loops), float(rrs), int(cg_maxiter)

    def _fuse_channels(self, ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
        """ir: H x W or C x H x W, vis: C x H x W -> C x H x W, clipped to [0, 1]."""
        u = l1_tv_irn(ir - vis, self.lam, self.loops, self.rrs, self.cg_maxiter)
        return np.clip(u + vis, 0.0, 1.0)

    def fuse(self, a: np.ndarray, b: np.ndarray, task: str) -> np.ndarray:
        ir = np.asarray(a, np.float64)[None]
        vis = np.asarray(b, np.float64)[None]
        return self._fuse_channels(ir, vis)[0].astype(np.float32)

    def fuse_colour(self, sources: list[np.ndarray], task: str) -> np.ndarray:
        """VIFB's call: grey (or RGB) infrared minus RGB visible, one vector-valued TV problem."""
        ir, vis = (np.asarray(s, np.float64) for s in sources)
        ir = np.moveaxis(ir, -1, 0) if ir.ndim == 3 else ir[None]
        vis = np.moveaxis(vis, -1, 0) if vis.ndim == 3 else vis[None]
        fused = self._fuse_channels(ir, vis)
        return np.moveaxis(fused, 0, -1).astype(np.float32)
