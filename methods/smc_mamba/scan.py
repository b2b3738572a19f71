"""Selective scan (Mamba-1 S6) with the signature and semantics of mamba-ssm's
`selective_scan_fn`.

    selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   return_last_state=False)

Shapes (mamba-ssm's): u, delta, z: (batch, dim, L); A: (dim, N), real; B, C: (batch, N, L), or
grouped (batch, G, N, L) with dim % G == 0 (channel d uses group d // (dim // G));
D, delta_bias: (dim,). Semantics, per batch b, channel d, state n, step t:
    dt = delta + delta_bias (then softplus if delta_softplus; torch's, threshold 20)
    x_t = exp(dt_t A) * x_{t-1} + dt_t B_t u_t,   x_{-1} = 0
    y_t = sum_n C_t x_t + D u_t,   y *= silu(z) when z is given
Returns y (batch, dim, L) in u's dtype, or (y, x_{L-1}) with return_last_state, the last state
(batch, dim, N) float32. Not supported (ValueError): complex A, and mamba-ssm's time-invariant
2-D B or C.

Dispatch: mamba-ssm's CUDA kernel when u is on CUDA and mamba-ssm imports; otherwise the CPU
scan below (tensors on another device are moved to the CPU and the result moved back). The
CPU scan is differentiable w.r.t. u, delta, A, B, C, D, z, delta_bias and the last state.
`selective_scan_reversed` (private, for ssm.BiSSM) is the scan of the time-reversed sequences
flipped back; on the CPU the kernels walk the time axis backwards instead of flipping tensors.

CPU scan (`_SelectiveScanCPU`, an autograd.Function with a hand-written backward): float32
in and out (other float dtypes are converted; gradients come back in each input's dtype).
Everything (delta_bias, softplus, the recurrence, D, silu(z), and all their gradients) runs
in numba kernels (`_scan_numba`; float32 recurrence and adjoint as in mamba-ssm's kernel,
float64 elementwise functions and long sums) that compute exp(dt A) on the fly, so nothing
of size (batch, dim, L, N) is materialised (dt and silu(z) pass through float32
(batch, dim, L) scratch). With autograd on, the forward keeps the state every `CHUNK` steps
(float32, batch*dim*N*L/CHUNK values); the backward recomputes each chunk from it and runs
the reverse-time adjoint recurrence. dB and dC need one (batch, G, L, N) float32 buffer pair
per channel slice (see `_slices`). Threads: min(torch.get_num_threads(), numba's thread
count) over (batch, channel-slice) work units; calls from several Python threads are
serialised by a lock (numba's fallback threading layer, 'workqueue', is not thread-safe). The
kernels compile on first use (about 10-30 s, then cached on disk by numba: about 1 s to
load); `compile_kernels()` does it up front and returns the time, and logs it at INFO.
"""
from __future__ import annotations

import logging
import threading
import time

import torch

__all__ = ["selective_scan", "compile_kernels", "CHUNK"]

CHUNK = 64          # steps between stored states in the forward; recompute length in backward

_log = logging.getLogger(__name__)
_kernels = None     # the _scan_numba module, once compiled
_lock = threading.Lock()   # numba's 'workqueue' threading layer is not thread-safe


def _mamba_cuda_scan():
    """mamba-ssm's selective_scan_fn, or None where mamba-ssm or its CUDA extension is absent."""
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception:  # ImportError, or its unguarded `import selective_scan_cuda` failing
        return None
    return selective_scan_fn


def compile_kernels() -> float:
    """Compile (or load from numba's disk cache) the CPU kernels; returns the seconds taken,
    0.0 when already done. The first CPU scan calls it."""
    global _kernels
    if _kernels is not None:
        return 0.0
    with _lock:
        if _kernels is not None:
            return 0.0
        t0 = time.perf_counter()
        import numpy as np
        from . import _scan_numba as k
        f3, f2, f1 = (np.zeros((1,) * n, np.float32) for n in (3, 2, 1))
        f4 = np.zeros((1, 1, 1, 1), np.float32)
        # a tiny problem with every option on; same argument types as in _forward/backward
        k._fwd(f3, f3, f1, True, f2, f4, f4, f1, f3, True, np.zeros((2, 1, 1, 1), np.float32),
               f3.copy(), f3.copy(), np.zeros((1, 1, 1, 1), np.float32), True, 1, 1, False)
        k._bwd(f3, f3, f1, True, f2, f4, f4, f1, f3, True, f3, f3, True, f4,
               1, np.zeros((2, 1, 1, 1), np.float32), np.zeros((3, 1, 1, 1), np.float32),
               np.zeros((1, 1, 1)), np.zeros((1, 1, 1, 1, 1), np.float32),
               np.zeros((1, 1, 1, 1, 1), np.float32), np.zeros((1, 1)), np.zeros((1, 1)), False)
        _kernels = k
        seconds = time.perf_counter() - t0
    _log.info("selective_scan: CPU kernels ready in %.1f s (numba JIT or its disk cache)",
              seconds)
    return seconds


def _threads() -> int:
    import numba
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def _f32(t):
    return t.detach().to(torch.float32).contiguous()


def _time_major(M, batch, dim, length, n_state, name):
    """B or C as contiguous float32 (batch, G, L, N); checks the shape."""
    if M.is_complex():
        raise ValueError(f"selective_scan: complex {name} is not supported")
    if M.dim() == 3:
        M = M[:, None]
    if M.dim() != 4:
        raise ValueError(f"selective_scan: {name} must be (batch, N, L) or (batch, G, N, L); "
                         f"the time-invariant (dim, N) form is not supported, got "
                         f"{tuple(M.shape)}")
    if (M.shape[0] != batch or M.shape[2] != n_state or M.shape[3] != length
            or M.shape[1] == 0 or dim % M.shape[1]):
        raise ValueError(f"selective_scan: {name} has shape {tuple(M.shape)}, expected "
                         f"(batch={batch}, [G dividing dim={dim},] N={n_state}, L={length})")
    return M.detach().to(torch.float32).transpose(-1, -2).contiguous()


def _slices(threads, batch, dim):
    """Channel slices per batch item, for batch * slices work units over `threads` threads:
    at least one unit per thread, at most twice that many slices (each slice holds its own
    dB/dC partial sums in the backward), the count that balances the threads best."""
    if threads == 1:
        return 1
    least = -(-threads // batch)
    best, best_cost = 1, float("inf")
    for slices in range(min(dim, least), min(dim, 2 * least) + 1):
        units = batch * slices
        cost = -(-units // threads) * threads / units     # makespan / perfect share
        if cost < best_cost - 1e-9:
            best, best_cost = slices, cost
    return best


def _run(kernel, threads, *args):
    import numba
    with _lock:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        kernel(*(a.numpy() if isinstance(a, torch.Tensor) else a for a in args))


def _forward(u, delta, A, B, C, D, z, delta_bias, delta_softplus, store, reverse=False):
    """Run the forward kernel: (out, last, ckpt, (uf, Af, Bt, Ct, Df)); ckpt is None unless
    `store` (checkpoints for the backward). `reverse`: scan from position L-1 down to 0."""
    k = _kernels
    batch, dim, length = u.shape
    n_state = A.shape[1]
    uf, df, Af = _f32(u), _f32(delta), _f32(A)
    Bt = _time_major(B, batch, dim, length, n_state, "B")
    Ct = _time_major(C, batch, dim, length, n_state, "C")
    Df = _f32(D) if D is not None else uf.new_zeros(dim)
    bf = _f32(delta_bias) if delta_bias is not None else uf.new_zeros(dim)
    zf = _f32(z) if z is not None else uf.new_zeros(1, 1, 1)
    ckpt = torch.empty(batch, dim, -(-length // CHUNK) if store else 1, n_state,
                       dtype=torch.float32)
    out = torch.empty(batch, dim, length, dtype=torch.float32)
    last = torch.empty(batch, dim, n_state, dtype=torch.float32)
    work = torch.empty(1 + (z is not None), batch, dim, length, dtype=torch.float32)
    threads = _threads()
    _run(k._fwd, threads, uf, df, bf, delta_softplus, Af, Bt, Ct, Df, zf, z is not None, work,
         out, last, ckpt, store, CHUNK, _slices(threads, batch, dim), reverse)
    return out, last, (ckpt if store else None), (uf, df, bf, Af, Bt, Ct, Df, zf)


class _SelectiveScanCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse=False):
        ctx.set_materialize_grads(False)
        out, last, ckpt, arrays = _forward(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                           store=True, reverse=reverse)
        ctx.save_for_backward(*arrays, ckpt)
        ctx.meta = (delta_softplus, z is not None, B.shape, C.shape, reverse,
                    [t.dtype if t is not None else None
                     for t in (u, delta, A, B, C, D, z, delta_bias)])
        return out, last

    @staticmethod
    def backward(ctx, gout, glast):
        k = _kernels
        uf, df, bf, Af, Bt, Ct, Df, zf, ckpt = ctx.saved_tensors
        softplus, has_z, B_shape, C_shape, reverse, dtypes = ctx.meta
        batch, dim, length = uf.shape
        n_groups, n_state = Bt.shape[1], Af.shape[1]
        gout = _f32(gout) if gout is not None else uf.new_zeros(uf.shape)
        has_glast = glast is not None
        glast = _f32(glast) if has_glast else uf.new_zeros(1, 1, 1)
        threads = _threads()
        slices = _slices(threads, batch, dim)   # each slice sums its own dB/dC (merged below)
        work = torch.empty(1 + has_z, batch, dim, length, dtype=torch.float32)
        grads = torch.empty(2 + has_z, batch, dim, length, dtype=torch.float32)  # du, ddelta, dz
        gA = torch.empty(batch, dim, n_state, dtype=torch.float64)
        gD = torch.empty(batch, dim, dtype=torch.float64)
        gbias = torch.empty(batch, dim, dtype=torch.float64)
        gB = torch.zeros(slices, batch, n_groups, length, n_state, dtype=torch.float32)
        gC = torch.zeros(slices, batch, n_groups, length, n_state, dtype=torch.float32)
        _run(k._bwd, threads, uf, df, bf, softplus, Af, Bt, Ct, Df, zf, has_z, gout, glast,
             has_glast, ckpt, CHUNK, work, grads, gA, gB, gC, gD, gbias, reverse)
        del work
        gB = (gB.sum(0) if slices > 1 else gB[0]).transpose(-1, -2).reshape(B_shape)
        gC = (gC.sum(0) if slices > 1 else gC[0]).transpose(-1, -2).reshape(C_shape)
        grads = [grads[0], grads[1], gA.sum(0), gB, gC, gD.sum(0), grads[2] if has_z else None,
                 gbias.sum(0)]
        grads = [g.to(dt_) if g is not None and need else None
                 for g, dt_, need in zip(grads, dtypes, ctx.needs_input_grad)]
        return (*grads, None, None)


def _scan_cpu(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state,
              reverse=False):
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f"selective_scan: u and delta must both be (batch, dim, L), got "
                         f"{tuple(u.shape)} and {tuple(delta.shape)}")
    if A.is_complex():
        raise ValueError("selective_scan: complex A is not supported on CPU")
    if A.dim() != 2 or A.shape[0] != u.shape[1]:
        raise ValueError(f"selective_scan: A must be (dim={u.shape[1]}, N), got "
                         f"{tuple(A.shape)}")
    for name, t, shape in (("D", D, (u.shape[1],)), ("delta_bias", delta_bias, (u.shape[1],)),
                           ("z", z, tuple(u.shape))):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"selective_scan: {name} must have shape {shape}, got "
                             f"{tuple(t.shape)}")
    device = u.device
    if device.type != "cpu":   # e.g. CUDA without mamba-ssm: run on the CPU, differentiably
        u, delta, A, B, C, D, z, delta_bias = (t.cpu() if t is not None else None for t in
                                               (u, delta, A, B, C, D, z, delta_bias))
    compile_kernels()
    inputs = (u, delta, A, B, C, D, z, delta_bias)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs):
        out, last = _SelectiveScanCPU.apply(*inputs, bool(delta_softplus), bool(reverse))
    else:   # inference: no checkpoints, no graph
        out, last = _forward(*inputs, bool(delta_softplus), store=False,
                             reverse=bool(reverse))[:2]
    out = out.to(device=device, dtype=u.dtype)
    return (out, last.to(device)) if return_last_state else out


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   return_last_state=False):
    """Mamba-1 selective scan; see the module docstring for shapes, dtypes and semantics.

    Returns out (batch, dim, L), or (out, last_state (batch, dim, N)) with return_last_state.
    """
    if u.is_cuda:
        fn = _mamba_cuda_scan()
        if fn is not None:
            return fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
    return _scan_cpu(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)


def selective_scan_reversed(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                            delta_softplus=False):
    """`selective_scan` of the time-reversed sequences, returned in the original order:
    selective_scan(u.flip(-1), ...).flip(-1) (every (batch, dim, L)/(.., N, L) input flipped),
    computed by running the scan from position L-1 down to 0 without flipping any tensor on
    the CPU (private; used by ssm.BiSSM)."""
    if u.is_cuda and _mamba_cuda_scan() is not None:
        flip = [t.flip(-1) if t is not None else None for t in (u, delta, B, C, z)]
        return selective_scan(flip[0], flip[1], A, flip[2], flip[3], D, flip[4], delta_bias,
                              delta_softplus).flip(-1)
    return _scan_cpu(u, delta, A, B, C, D, z, delta_bias, delta_softplus, False, reverse=True)
