"""CPU selective scan (methods.smc_mamba.scan) against float64 references.

References, all written here (none shares code with the scan):
- `ref_scan(..., core="torch")`: a plain sequential float64 loop in torch, differentiated by
  autograd (per-step `unbind`, so its backward stays linear in L);
- `ref_scan(..., core="numpy")`: the same recurrence as a float64 numpy loop vectorised per step
  over (batch, dim, N), with its own adjoint written with einsum; fast enough for L = 65,536
  and itself checked against the torch core (forward and gradients);
- mamba-ssm's `selective_scan_ref` where mamba-ssm is installed (reached with its CUDA module
  stubbed); those tests skip otherwise. Recipe (CPU only):
      pip install einops transformers wheel packaging
      MAMBA_FORCE_BUILD=TRUE MAMBA_SKIP_CUDA_BUILD=TRUE \\
          pip install --no-build-isolation --no-deps mamba-ssm==2.3.2.post1
Bar: forward and the gradients of every input within max abs error 1e-4 (float32 scan, inputs
scaled so values are O(1)).
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from methods.smc_mamba import scan
from methods.smc_mamba.scan import CHUNK, selective_scan

TOL = 1e-4
NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


# ----------------------------------------------------------------------------- references

def _core_torch(u, dt, A, B, C):
    """x_t = exp(dt_t A) x_{t-1} + dt_t u_t B_t, y_t = C_t . x_t; B, C: (b, d, N, L)."""
    dA = torch.exp(dt[..., None] * A[:, None, :])                   # (b, d, L, N)
    dBu = (dt * u)[..., None] * B.transpose(2, 3)                    # (b, d, L, N)
    x = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for a_t, b_t, c_t in zip(dA.unbind(2), dBu.unbind(2), C.transpose(2, 3).unbind(2)):
        x = a_t * x + b_t
        ys.append((x * c_t).sum(-1))
    y = torch.stack(ys, -1) if ys else u.new_zeros(u.shape)
    return y, x


class _CoreNumpy(torch.autograd.Function):
    """_core_torch as a float64 numpy loop over L (vectorised over b, d, N) + its adjoint."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C):
        u, dt, A, B, C = (t.detach().numpy() for t in (u, dt, A, B, C))
        dA = np.exp(dt[..., None] * A[:, None, :])                   # (b, d, L, N)
        dBu = (dt * u)[..., None] * B.transpose(0, 1, 3, 2)
        xs = np.zeros((u.shape[2] + 1, u.shape[0], u.shape[1], A.shape[1]))
        for t in range(u.shape[2]):
            xs[t + 1] = dA[:, :, t] * xs[t] + dBu[:, :, t]
        ctx.arrays = (u, dt, A, B, C, dA, xs)
        y = np.einsum("lbdn,bdnl->bdl", xs[1:], C)
        return torch.from_numpy(y), torch.from_numpy(xs[-1].copy())

    @staticmethod
    def backward(ctx, gy, glast):
        u, dt, A, B, C, dA, xs = ctx.arrays
        gy = gy.numpy()
        h = glast.numpy().copy()
        hs = np.empty_like(xs[1:])                                   # hs[t] = dL/dx_t
        gyC = gy[:, :, None, :] * C                                  # (b, d, N, L)
        for t in range(u.shape[2] - 1, -1, -1):
            h = h + gyC[..., t]
            hs[t] = h
            h = h * dA[:, :, t]
        q = np.einsum("lbdn,lbdn,bdln->bdln", hs, xs[:-1], dA)       # dL/d(dt A)
        hB = np.einsum("lbdn,bdnl->bdl", hs, B)
        g_u = hB * dt
        g_dt = np.einsum("bdln,dn->bdl", q, A) + hB * u
        g_A = np.einsum("bdln,bdl->dn", q, dt)
        g_B = np.einsum("lbdn,bdl->bdnl", hs, dt * u)
        g_C = np.einsum("bdl,lbdn->bdnl", gy, xs[1:])
        return tuple(torch.from_numpy(np.ascontiguousarray(g)) for g in (g_u, g_dt, g_A, g_B, g_C))


def ref_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, *,
             core="torch"):
    """float64 selective scan -> (y, last_state); differentiable w.r.t. every input."""
    u, delta, A, B, C = (t.double() for t in (u, delta, A, B, C))
    dim = u.shape[1]
    if delta_bias is not None:
        delta = delta + delta_bias.double()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    B, C = (M[:, None] if M.dim() == 3 else M for M in (B, C))       # (b, G, N, L)
    B, C = (M.repeat_interleave(dim // M.shape[1], dim=1) for M in (B, C))
    if core == "torch":
        y, last = _core_torch(u, delta, A, B, C)
    else:
        y, last = _CoreNumpy.apply(u, delta, A, B.contiguous(), C.contiguous())
    if D is not None:
        y = y + u * D.double()[:, None]
    if z is not None:
        y = y * F.silu(z.double())
    return y, last


# ----------------------------------------------------------------------------- helpers

def make_inputs(batch, dim, n, length, *, seed=0, delta=(0.05, 0.6), a=(0.5, 2.0), groups=None,
                bias_scale=0.3):
    """O(1) inputs: A in -[a0, a1], delta in [delta0, delta1], delta_bias in [0, bias_scale]
    (so dt > 0 with or without softplus), u, B, C, D, z standard normal."""
    g = torch.Generator().manual_seed(seed)
    bc = (batch, n, length) if groups is None else (batch, groups, n, length)

    def uni(lo, hi, *shape):
        return torch.rand(*shape, generator=g, dtype=torch.float64) * (hi - lo) + lo

    return dict(u=torch.randn(batch, dim, length, generator=g, dtype=torch.float64),
                delta=uni(*delta, batch, dim, length),
                A=-uni(*a, dim, n),
                B=torch.randn(*bc, generator=g, dtype=torch.float64),
                C=torch.randn(*bc, generator=g, dtype=torch.float64),
                D=torch.randn(dim, generator=g, dtype=torch.float64),
                z=torch.randn(batch, dim, length, generator=g, dtype=torch.float64),
                delta_bias=uni(0.0, bias_scale, dim))


def run_both(inputs, use, softplus, last_state=True, ref_core="torch", seed=1):
    """Our scan (float32) and ref_scan (float64) on the same values, with the same random
    upstream gradients; returns (ours, ref), each a dict name -> tensor (y, last, grads)."""
    names = [k for k in NAMES if k in ("u", "delta", "A", "B", "C") or k in use]
    ours32 = {k: inputs[k].float().requires_grad_(True) for k in names}
    ref64 = {k: inputs[k].clone().requires_grad_(True) for k in names}
    out = selective_scan(**ours32, delta_softplus=softplus, return_last_state=last_state)
    y, last = out if last_state else (out, None)
    y_ref, last_ref = ref_scan(**ref64, delta_softplus=softplus, core=ref_core)
    g = torch.Generator().manual_seed(seed)
    gy = torch.randn(y_ref.shape, generator=g, dtype=torch.float64)
    gl = torch.randn(last_ref.shape, generator=g, dtype=torch.float64)
    loss = (y * gy.float()).sum() + ((last * gl.float()).sum() if last_state else 0)
    loss_ref = (y_ref * gy).sum() + ((last_ref * gl).sum() if last_state else 0)
    ours = dict(zip(names, torch.autograd.grad(loss, [ours32[k] for k in names])), y=y)
    ref = dict(zip(names, torch.autograd.grad(loss_ref, [ref64[k] for k in names])), y=y_ref)
    if last_state:
        ours["last"], ref["last"] = last, last_ref
    return ours, ref


def assert_close(ours, ref, tol=TOL, rel=None, large_rel=None):
    """Every tensor within max abs error `tol`. With `large_rel` (extreme-input tests whose
    values are not O(1)), a tensor of magnitude M may instead be within large_rel * M; with
    `rel`, every tensor must also be within rel * M (small-valued tensors)."""
    assert set(ours) == set(ref)
    errors = {k: (ours[k].double() - ref[k].double()).abs().max().item() for k in ref}
    scales = {k: ref[k].abs().max().item() for k in ref}
    bounds = {k: max(tol, (large_rel or 0.0) * scales[k]) for k in ref}
    bad = {k: v for k, v in errors.items() if not v <= bounds[k]}
    assert not bad, f"max abs error above {bounds}: {bad} (ref magnitudes {scales})"
    if rel is not None:
        bad = {k: errors[k] / scales[k] for k in ref if not errors[k] <= rel * scales[k]}
        assert not bad, f"relative error above {rel}: {bad}"
    for k in ref:
        assert ours[k].dtype == torch.float32 and ours[k].shape == ref[k].shape, k


def mamba_selective_scan_ref():
    """mamba-ssm's selective_scan_ref, or None. Its module does an unguarded `import
    selective_scan_cuda`: stub it for the import, then restore sys.modules so that nothing else
    (e.g. scan._mamba_cuda_scan) sees the stub or a half-usable mamba_ssm."""
    before = set(sys.modules)
    stub = "selective_scan_cuda" not in sys.modules
    if stub:
        sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_ref
    except Exception:
        return None
    finally:
        if stub:
            for name in set(sys.modules) - before:
                if name == "selective_scan_cuda" or name.startswith("mamba_ssm"):
                    del sys.modules[name]
    return selective_scan_ref


OPTION_SETS = {
    "plain": ((), False, False),
    "all": (("D", "z", "delta_bias"), True, True),
    "D+softplus": (("D",), True, False),
    "z+bias+last": (("z", "delta_bias"), False, True),
}


# ----------------------------------------------------------------------------- tests

@pytest.fixture(scope="module", autouse=True)
def compiled_kernels():
    """Compile (or load from numba's cache) once, so the cost shows up as this setup."""
    scan.compile_kernels()


def test_kernel_elementwise_functions():
    """The kernels' own exp, softplus and sigmoid against numpy / torch in float64."""
    from methods.smc_mamba import _scan_numba
    x = np.concatenate([np.linspace(-700.0, 700.0, 200_001), np.linspace(-30, 30, 6001),
                        [0.0, -1e-12, 1e-12, 20.0, np.nextafter(20.0, 21.0)]])
    exp, softplus, sigmoid = _scan_numba._elementwise(x)
    assert (np.abs(exp - np.exp(x)) / np.exp(x)).max() < 1e-12
    sp_ref = F.softplus(torch.from_numpy(x)).numpy()        # threshold 20: identity above
    assert (np.abs(softplus - sp_ref) / sp_ref).max() < 1e-12
    assert np.abs(sigmoid - torch.sigmoid(torch.from_numpy(x)).numpy()).max() < 1e-14
    # exp clamped below at exp(-708): a tiny non-negative number, never nan/inf/negative
    tail = _scan_numba._elementwise(np.array([-708.0, -800.0, -1e6, -np.inf]))
    assert np.all(tail[0] >= 0) and np.all(tail[0] <= 4e-308) and np.all(tail[2] <= 4e-308)
    assert np.isnan(_scan_numba._elementwise(np.array([np.nan]))).all()


def test_nan_propagates():
    x = {k: v.float() for k, v in make_inputs(1, 2, 3, 10).items()}
    x["A"][1, 2] = float("nan")
    y = selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"])
    assert torch.isnan(y[0, 1, 1:]).all() and not torch.isnan(y[0, 0]).any()


@pytest.mark.parametrize("length", [1, 7, CHUNK, 129])
@pytest.mark.parametrize("options", list(OPTION_SETS))
def test_matches_sequential_reference(length, options):
    use, softplus, last = OPTION_SETS[options]
    inputs = make_inputs(2, 3, 5, length, seed=length)
    ours, ref = run_both(inputs, use, softplus, last)
    assert_close(ours, ref)


def test_numpy_reference_core_matches_autograd():
    """The fast float64 reference used at L = 65,536 agrees with the autograd one."""
    inputs = make_inputs(2, 3, 4, 50, seed=5)
    grads = []
    for core in ("torch", "numpy"):
        x = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y, last = ref_scan(**x, delta_softplus=True, core=core)
        g = torch.autograd.grad((y * torch.cos(y)).sum() + (last ** 2).sum(), list(x.values()))
        grads.append([y, last, *g])
    for a, b in zip(*grads):
        assert (a - b).abs().max().item() < 1e-10


def test_long_sequence_65536():
    """Forward and all gradients at L = 65,536 (every option on) against the float64
    per-step reference; batch 1, dim 2, N 4."""
    length = 65_536
    inputs = make_inputs(1, 2, 4, length, seed=7)
    ours, ref = run_both(inputs, ("D", "z", "delta_bias"), True, True, ref_core="numpy")
    assert_close(ours, ref)
    # the L-summed parameter gradients are large here; the bar still holds in absolute terms
    assert ref["A"].abs().max() > 10 and ref["delta_bias"].abs().max() > 10


def test_tiny_delta():
    """delta ~ 1e-6: exp(dt A) within ~1e-6 of 1, the state barely decays over 129 steps. The
    state and the gradients of A, B, C are O(1e-4) or less here, so every error is also bounded
    relative to its tensor's magnitude."""
    inputs = make_inputs(2, 3, 4, 129, seed=11, delta=(1e-7, 2e-6), bias_scale=0.0)
    ours, ref = run_both(inputs, ("D", "z"), False, True)
    assert ref["last"].abs().max() < 1e-3 and ref["delta"].abs().max() > 1
    assert_close(ours, ref, rel=1e-4)


@pytest.mark.parametrize("softplus", [False, True])
def test_large_decay(softplus):
    """delta*|A| in about [40, 100]: the state forgets within one step; with softplus the raw
    delta is above torch's threshold 20 (softplus = identity there)."""
    inputs = make_inputs(2, 3, 4, 129, seed=13, delta=(20.5, 30.0), a=(2.0, 3.3), bias_scale=0.0)
    dt = inputs["delta"] + inputs["delta_bias"][:, None]
    decay = dt[..., None] * inputs["A"].abs()[:, None, :]
    assert 40 < decay.min() and decay.max() < 100
    ours, ref = run_both(inputs, ("D", "z", "delta_bias"), softplus, True)
    assert_close(ours, ref, rel=1e-4)


def test_softplus_mixed_threshold():
    """Raw delta on both sides of softplus's threshold (20) in one sequence."""
    inputs = make_inputs(1, 4, 3, 70, seed=17, delta=(-3.0, 24.0), a=(0.01, 0.05))
    raw = inputs["delta"] + inputs["delta_bias"][:, None]
    assert (raw > 20).any() and (raw < 20).any()
    ours, ref = run_both(inputs, ("delta_bias",), True, True)
    assert_close(ours, ref, large_rel=1e-5)


def test_grouped_b_c():
    inputs = make_inputs(2, 6, 4, 33, seed=19, groups=3)
    ours, ref = run_both(inputs, ("D", "z", "delta_bias"), True, True)
    assert ours["B"].shape == (2, 3, 4, 33)
    assert_close(ours, ref)


def test_gradient_through_last_state_only():
    inputs = make_inputs(2, 3, 4, 77, seed=23)
    x = {k: inputs[k].float().requires_grad_(True) for k in ("u", "delta", "A", "B", "C")}
    r = {k: inputs[k].clone().requires_grad_(True) for k in x}
    _, last = selective_scan(**x, return_last_state=True)
    _, last_ref = ref_scan(**r)
    g = torch.autograd.grad(last.sum(), list(x.values()))
    g_ref = torch.autograd.grad(last_ref.sum(), list(r.values()), allow_unused=True)
    assert g_ref[4] is None and torch.equal(g[4], torch.zeros_like(g[4]))   # C: unused
    for name, a, b in list(zip(x, g, g_ref))[:4]:
        assert (a.double() - b).abs().max().item() <= TOL, name
        assert b.abs().max() > 0.1, name


def test_thread_counts_agree(monkeypatch):
    """Serial and multi-slice runs (dB/dC summed over channel slices) give the same values."""
    results = []
    for threads in (1, 3):
        monkeypatch.setattr(scan, "_threads", lambda: threads)
        for batch in (1, 2):
            inputs = make_inputs(batch, 5, 4, 150, seed=29)
            ours, _ = run_both(inputs, ("D", "z", "delta_bias"), True, True)
            results.append(ours)
    assert scan._slices(3, 1, 5) == 3 and scan._slices(3, 2, 5) == 3
    for one, many in ((results[0], results[2]), (results[1], results[3])):
        for k in one:   # dB, dC: float32 sums over channels in another order
            torch.testing.assert_close(one[k], many[k], rtol=1e-6, atol=1e-6, msg=k)


def test_slices_policy():
    assert scan._slices(1, 4, 16) == 1
    assert scan._slices(2, 1, 16) == 2
    assert scan._slices(2, 4, 16) == 1       # 4 units on 2 threads
    assert scan._slices(2, 3, 16) == 2       # 6 units on 2 threads, not 3
    assert scan._slices(16, 8, 96) == 2
    assert scan._slices(16, 6, 96) == 5      # 30 units on 16 threads (18 would idle 14)
    assert scan._slices(16, 1, 4) == 4       # never more slices than channels
    assert scan._slices(16, 32, 96) == 1


def test_no_grad_equals_grad_path():
    inputs = make_inputs(2, 3, 4, 100, seed=31)
    f32 = {k: v.float() for k, v in inputs.items()}
    with torch.no_grad():
        y0, l0 = selective_scan(**f32, delta_softplus=True, return_last_state=True)
    y1, l1 = selective_scan(**{k: v.clone().requires_grad_(True) for k, v in f32.items()},
                            delta_softplus=True, return_last_state=True)
    assert y1.requires_grad and not y0.requires_grad
    assert torch.equal(y0, y1.detach()) and torch.equal(l0, l1.detach())


def test_other_dtypes_round_trip():
    inputs = make_inputs(1, 2, 3, 20, seed=37)
    x = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}   # float64 in
    y = selective_scan(**x, delta_softplus=True)
    assert y.dtype == torch.float64
    g = torch.autograd.grad(y.sum(), list(x.values()))
    assert all(t.dtype == torch.float64 for t in g)
    y_ref, _ = ref_scan(**inputs, delta_softplus=True)
    assert (y - y_ref).abs().max().item() <= TOL
    y16 = selective_scan(**{k: v.to(torch.bfloat16) for k, v in inputs.items()})
    assert y16.dtype == torch.bfloat16


def test_input_errors():
    x = {k: v.float() for k, v in make_inputs(2, 4, 3, 10).items()}
    with pytest.raises(ValueError, match="time-invariant"):
        selective_scan(x["u"], x["delta"], x["A"], torch.randn(4, 3), x["C"])
    with pytest.raises(ValueError, match="complex"):
        selective_scan(x["u"], x["delta"], x["A"].to(torch.complex64), x["B"], x["C"])
    with pytest.raises(ValueError, match="G dividing"):
        selective_scan(x["u"], x["delta"], x["A"], torch.randn(2, 3, 3, 10), x["C"])
    with pytest.raises(ValueError, match="N=3"):
        selective_scan(x["u"], x["delta"], x["A"], torch.randn(2, 5, 10), x["C"])
    with pytest.raises(ValueError, match="D must have shape"):
        selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], D=torch.randn(3))


def test_cpu_tensors_never_reach_the_cuda_kernel(monkeypatch):
    def boom():
        raise AssertionError("mamba-ssm's CUDA scan was looked up for CPU tensors")
    monkeypatch.setattr(scan, "_mamba_cuda_scan", boom)
    x = {k: v.float() for k, v in make_inputs(1, 2, 3, 9).items()}
    assert selective_scan(**x).shape == (1, 2, 9)


# ----------------------------------------------------------------------------- mamba-ssm

@pytest.fixture(scope="module")
def mamba_ref():
    fn = mamba_selective_scan_ref()
    if fn is None:
        pytest.skip("mamba-ssm is not installed (optional reference; see the module docstring)")
    return fn


@pytest.mark.parametrize("length,options,groups", [
    (1, "all", None), (7, "plain", None), (129, "all", None), (129, "z+bias+last", None),
    (40, "all", 2)])
def test_matches_mamba_selective_scan_ref(mamba_ref, length, options, groups):
    use, softplus, last = OPTION_SETS[options]
    inputs = make_inputs(2, 4, 16, length, seed=41 + length, groups=groups)
    names = [k for k in NAMES if k in ("u", "delta", "A", "B", "C") or k in use]
    ours_in = {k: inputs[k].float().requires_grad_(True) for k in names}
    ref_in = {k: inputs[k].float().requires_grad_(True) for k in names}
    kw = dict(delta_softplus=softplus, return_last_state=last)
    out, out_ref = selective_scan(**ours_in, **kw), mamba_ref(**ref_in, **kw)
    outs = list(out) if last else [out]
    outs_ref = list(out_ref) if last else [out_ref]
    g = torch.Generator().manual_seed(3)
    weights = [torch.randn(o.shape, generator=g) for o in outs_ref]
    grads = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outs, weights)),
                                list(ours_in.values()))
    grads_ref = torch.autograd.grad(sum((o * w).sum() for o, w in zip(outs_ref, weights)),
                                    list(ref_in.values()))
    for name, a, b in zip(["y", "last"][:len(outs)] + names, outs + list(grads),
                          outs_ref + list(grads_ref)):
        assert a.shape == b.shape, name
        assert (a - b).abs().max().item() <= TOL, name


@pytest.mark.parametrize("length,groups", [(1, None), (CHUNK + 37, None), (2 * CHUNK, 2)])
def test_reversed_scan_equals_flipped_scan(length, groups):
    """scan.selective_scan_reversed (the kernel walking the time axis backwards) equals
    selective_scan of the flipped inputs, flipped back: values and every gradient."""
    inputs = {k: v.float() for k, v in
              make_inputs(2, 4, 5, length, seed=41, groups=groups).items()}

    def run(fn):
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = fn(leaves)
        gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(3))
        return [y.detach(), *torch.autograd.grad((y * gy).sum(), list(leaves.values()))]

    def flipped(t):
        return {k: (v.flip(-1) if k in ("u", "delta", "B", "C", "z") else v)
                for k, v in t.items()}
    ours = run(lambda t: scan.selective_scan_reversed(**t, delta_softplus=True))
    ref = run(lambda t: selective_scan(**flipped(t), delta_softplus=True).flip(-1))
    for name, a, b in zip(["y", *inputs], ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=name)
    with torch.no_grad():
        y = scan.selective_scan_reversed(**inputs, delta_softplus=True)
    torch.testing.assert_close(y, ref[0], rtol=1e-5, atol=1e-5)


def _values_and_grads(fn, *leaves, seed=5):
    leaves = [t.detach().clone().requires_grad_(True) for t in leaves]
    outs = fn(*leaves)
    outs = outs if isinstance(outs, tuple) else (outs,)
    g = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=g)).sum() for o in outs)
    return [o.detach() for o in outs] + list(torch.autograd.grad(loss, leaves))


def _assert_all_close(ours, ref):
    assert len(ours) == len(ref)
    for i, (a, b) in enumerate(zip(ours, ref)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=f"output/grad {i}")


def test_bissm_fast_paths_equal_flip_and_interleave_definitions():
    """BiSSM.forward / forward_cross (reverse scans run backwards, no flips) against the
    definitions written with explicit flips and interleaved sequences: values and gradients."""
    from methods.smc_mamba.ssm import BiSSM, interleave
    torch.manual_seed(0)
    bi = BiSSM(8, d_state=4)
    ux, uy = torch.randn(2, 8, 37), torch.randn(2, 8, 37)

    def bi_ref(u):
        f, r = bi.fwd, bi.rev
        return f.scan(u, *f.project(u)) + r.scan(u.flip(-1), *r.project(u.flip(-1))).flip(-1)

    _assert_all_close(_values_and_grads(bi, ux), _values_and_grads(bi_ref, ux))
    _assert_all_close(
        _values_and_grads(bi.forward_cross, ux, uy),
        _values_and_grads(lambda a, b: (bi_ref(interleave(a, b))[..., 0::2],
                                        bi_ref(interleave(b, a))[..., 0::2]), ux, uy))


def test_frscan_folded_shift_equals_definition():
    """FRScan's single gathers (fftshift folded into the spiral order) against fftshift ->
    spiral order -> BiSSM -> inverse order -> ifftshift: values and gradients."""
    from methods.smc_mamba.config import SMCConfig
    from methods.smc_mamba.scans import FRScan, spiral_order
    torch.manual_seed(1)
    fr = FRScan(6, SMCConfig())
    x = torch.randn(2, 6, 7, 10)

    def ref(x):
        order, inverse = spiral_order(*x.shape[-2:])
        seq = torch.fft.fftshift(x, dim=(-2, -1)).flatten(2)[..., order]
        y = fr.ssm(seq)[..., inverse].view_as(x)
        return torch.fft.ifftshift(y, dim=(-2, -1))

    _assert_all_close(_values_and_grads(fr, x), _values_and_grads(ref, x))


@pytest.mark.parametrize("splits", [None, (3, 4, 4)])
def test_seqlinear_batched_gemm_equals_linear(splits):
    """SeqLinear's batched-GEMM path (strided inputs read in place) equals F.linear on the
    token-major layout: values and gradients, contiguous and transposed inputs."""
    from methods.smc_mamba.layers import SeqLinear
    torch.manual_seed(2)
    lin = SeqLinear(5, 11, splits=splits)
    for x in (torch.randn(3, 5, 20), torch.randn(3, 20, 5).transpose(1, 2)):
        def ref(x):
            y = F.linear(x.transpose(1, 2), lin.weight, lin.bias)
            return (y.transpose(1, 2) if splits is None else
                    tuple(t.transpose(1, 2) for t in y.split(splits, dim=-1)))
        _assert_all_close(_values_and_grads(lin, x), _values_and_grads(ref, x))
