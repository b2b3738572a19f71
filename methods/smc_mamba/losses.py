"""SMC-Mamba training losses: BSCL (L_fcl, L_pcl), L_mccm, L_ssim, L_int and the weighted total.

Every function is pure (tensors in, tensors out) and differentiable. Conventions, following
SMC_MAMBA_SPEC.md §3.3, §4 and §10 items 8-12 (the [R] choices):

Haar lifting (§4.1, §10.9), fixed: P(x) = x, U(d) = d / 2.
  * feature level (`haar_feature`): split the channels into the first and second halves
    (F_c1, F_c2); high = F_c2 - F_c1, low = F_c1 + high / 2 (= the mean of the halves).
    The channel count must be even.
  * image level (`haar_image`): one 2D Haar step by lifting, first along the width (even/odd
    columns), then along the height (even/odd rows) of both results. With L/H the width low/high:
    LL = low(L), LH = high(L), HL = low(H), HH = high(H). low = LL; high = Cat(LH, HL, HH) on the
    channel axis. Odd sizes: the last row/column is repeated (replicate padding) before the split,
    so an odd border has zero high-frequency content and its low part is the pixel itself.
Contrastive norms (§10.8, §10.10): ||.||_1 is the mean absolute error, squared as printed;
  Z_f - Cat(Z_1, Z_2) is read as sum_k ||Z_f - Z_k||_1 (Z_f broadcast over the modality axis);
  eps = 1e-6 is added to the denominators; norms are taken per sample and the ratio is averaged
  over the batch. Nothing is detached unless `detach_sources=True` (stop-gradient on F_mk).
  At the image level the high part has 3 sub-bands and the low part 1: in the low-vs-high
  (negative) distances the low part is tiled 3 times, i.e. the mean over the sub-bands.
L_mccm (§3.3, §10.15): L_wb + lambda(t) L_div + (1 - lambda(t)) L_cons, lambda(t) =
  cos(t / T * pi / 2) with t the fractional epoch (clamped to [0, T]).
  * L_wb: squared coefficient of variation of the post-top-k gate weights summed over the batch,
    var / mean^2 with the unbiased variance (torch's default, as in Shazeer et al.'s cv_squared
    and the co-author's Pan-Mamba code); 1e-10 guards the mean.
  * L_div: mean over ordered pairs i != j of the cosine of the flattened (C*H*W) expert outputs,
    per sample, averaged over the batch.
  * L_cons: sum_i W_i * mean((F_i - F_cons)^2), F_cons = sum_i W_i F_i, per sample, batch mean.
L_ssim (§10.12): 1 - (SSIM(I_f, I_1) + SSIM(I_f, I_2)) / 2; SSIM of Wang et al. 2004 with an
  11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, data range 1, 'valid' filtering (no
  padding, as MATLAB's ssim_index), mean of the SSIM map. Images smaller than the window use the
  largest odd window that fits (same sigma).
L_int (§10.11): ivf, medical, mff: mean |I_f - max(I_1, I_2)|; mef: mean |I_f - (I_1 + I_2) / 2|.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F

EPS = 1e-6
DEFAULT_WEIGHTS = {"fcl": 0.8, "pcl": 0.4, "mccm": 1.0, "ssim": 1.0, "int": 1.0}
TASKS = ("ivf", "medical", "mff", "mef")

__all__ = ["haar_feature", "haar_image", "contrastive_ratio", "loss_fcl", "loss_pcl",
           "loss_wb", "loss_div", "loss_cons", "mccm_lambda", "loss_mccm", "ssim",
           "loss_ssim", "loss_int", "total_loss", "DEFAULT_WEIGHTS", "TASKS"]


# ---------------------------------------------------------------------------------------------
# Haar lifting
# ---------------------------------------------------------------------------------------------

def _lift(even: torch.Tensor, odd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One Haar lifting step: high = odd - P(even), low = even + U(high); P = id, U = /2."""
    high = odd - even
    low = even + high / 2
    return low, high


def haar_feature(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) features -> (low, high), each (B, C/2, H, W), by a channel-wise split."""
    if x.dim() != 4:
        raise ValueError(f"haar_feature wants (B, C, H, W), got shape {tuple(x.shape)}")
    c = x.shape[1]
    if c % 2:
        raise ValueError(f"haar_feature splits the channels in halves; {c} channels is odd")
    return _lift(x[:, : c // 2], x[:, c // 2:])


def haar_image(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) images -> (low (B, C, H', W'), high (B, 3C, H', W')), H' = ceil(H/2)."""
    if x.dim() != 4:
        raise ValueError(f"haar_image wants (B, C, H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
    lo, hi = _lift(x[..., :, 0::2], x[..., :, 1::2])          # along the width
    ll, lh = _lift(lo[..., 0::2, :], lo[..., 1::2, :])        # along the height
    hl, hh = _lift(hi[..., 0::2, :], hi[..., 1::2, :])
    return ll, torch.cat([lh, hl, hh], dim=1)


# ---------------------------------------------------------------------------------------------
# BSCL: feature- and pixel-level contrastive ratios
# ---------------------------------------------------------------------------------------------

def _mae_per_sample(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().flatten(1).mean(dim=1)


def _dist(z_f: torch.Tensor, z_srcs: Sequence[torch.Tensor]) -> torch.Tensor:
    """sum_k ||z_f - z_k||_1 (mean absolute error per sample), shape (B,)."""
    return sum(_mae_per_sample(z_f, z) for z in z_srcs)


def _tile_like(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Tile a low part over the channel axis to the high part's channel count (image level:
    1 low band against 3 high sub-bands); unchanged when the counts already match."""
    n, rem = divmod(high.shape[1], low.shape[1])
    if rem or n < 1:
        raise ValueError(f"low part with {low.shape[1]} channels cannot be matched to a high part "
                         f"with {high.shape[1]}")
    return low if n == 1 else low.repeat(1, n, 1, 1)


def contrastive_ratio(low_f: torch.Tensor, high_f: torch.Tensor,
                      lows: Sequence[torch.Tensor], highs: Sequence[torch.Tensor],
                      eps: float = EPS) -> torch.Tensor:
    """d(h_f, h_s)^2 / (d(h_f, l_s)^2 + eps) + d(l_f, l_s)^2 / (d(l_f, h_s)^2 + eps), batch mean.

    d(z, srcs) = sum_k mean|z - z_k| per sample. Where the high parts have more channels than
    the low parts (image level: LH, HL, HH against LL) the low part is tiled to match, so a
    low-vs-high distance is the mean over the high sub-bands.
    """
    pos_h = _dist(high_f, highs) ** 2
    neg_h = _dist(high_f, [_tile_like(l, high_f) for l in lows]) ** 2
    pos_l = _dist(low_f, lows) ** 2
    neg_l = _dist(_tile_like(low_f, high_f), highs) ** 2
    return (pos_h / (neg_h + eps) + pos_l / (neg_l + eps)).mean()


def loss_fcl(fused_feat: torch.Tensor, feats: Sequence[torch.Tensor], *,
             detach_sources: bool = False, eps: float = EPS) -> torch.Tensor:
    """Feature-level contrastive loss L_fcl (§4.2) on F_mf and (F_m1, F_m2)."""
    if any(f.shape != fused_feat.shape for f in feats):
        raise ValueError("L_fcl: F_mf and every F_mk must have one shape; got "
                         f"{tuple(fused_feat.shape)} and {[tuple(f.shape) for f in feats]}")
    if detach_sources:
        feats = [f.detach() for f in feats]
    low_f, high_f = haar_feature(fused_feat)
    parts = [haar_feature(f) for f in feats]
    return contrastive_ratio(low_f, high_f, [p[0] for p in parts], [p[1] for p in parts], eps)


def loss_pcl(fused: torch.Tensor, i1: torch.Tensor, i2: torch.Tensor, *,
             eps: float = EPS) -> torch.Tensor:
    """Pixel-level contrastive loss L_pcl (§4.3) on I_f and the sources I_1, I_2.

    Image-level high parts hold 3 sub-bands (LH, HL, HH); against a low part (1 band) the low
    part is tiled 3 times, so both terms compare tensors of one shape.
    """
    low_f, high_f = haar_image(fused)
    parts = [haar_image(i1), haar_image(i2)]
    return contrastive_ratio(low_f, high_f, [p[0] for p in parts], [p[1] for p in parts], eps)


# ---------------------------------------------------------------------------------------------
# MCCM losses
# ---------------------------------------------------------------------------------------------

def loss_wb(gate_weights: torch.Tensor) -> torch.Tensor:
    """Squared coefficient of variation of the gate weights summed over the batch: (B, N) -> ()."""
    importance = gate_weights.float().sum(dim=0)
    if importance.numel() < 2:
        return importance.new_zeros(())
    return importance.var() / (importance.mean() ** 2 + 1e-10)


def loss_div(expert_outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean pairwise cosine (i != j) of the flattened expert outputs, per sample, batch mean."""
    n = len(expert_outputs)
    if n < 2:
        return expert_outputs[0].new_zeros(())
    flat = torch.stack([e.flatten(1) for e in expert_outputs], dim=1)      # (B, N, CHW)
    unit = F.normalize(flat, dim=-1, eps=1e-8)
    cos = unit @ unit.transpose(1, 2)                                       # (B, N, N)
    off = cos.sum(dim=(1, 2)) - cos.diagonal(dim1=1, dim2=2).sum(dim=1)
    return (off / (n * (n - 1))).mean()


def loss_cons(expert_outputs: Sequence[torch.Tensor], gate_weights: torch.Tensor) -> torch.Tensor:
    """sum_i W_i * mean((F_i - F_cons)^2), F_cons = sum_i W_i F_i; per sample, batch mean."""
    stack = torch.stack(list(expert_outputs), dim=1)                        # (B, N, ...)
    w = gate_weights.reshape(*gate_weights.shape, *([1] * (stack.dim() - 2))).to(stack.dtype)
    cons = (w * stack).sum(dim=1, keepdim=True)
    mse = ((stack - cons) ** 2).flatten(2).mean(dim=2)                      # (B, N)
    return (gate_weights.to(mse.dtype) * mse).sum(dim=1).mean()


def mccm_lambda(t: float, T: float) -> float:
    """lambda(t) = cos(t / T * pi / 2), t = fractional epoch, clamped to [0, T]."""
    if T <= 0:
        return 0.0
    return math.cos(min(max(t / T, 0.0), 1.0) * math.pi / 2)


def loss_mccm(gate_weights: torch.Tensor | None, expert_outputs: Sequence[torch.Tensor] | None,
              t: float, T: float, *, use_wb: bool = True, use_div: bool = True,
              use_cons: bool = True) -> tuple[torch.Tensor | None, dict[str, float]]:
    """L_wb + lambda(t) L_div + (1 - lambda(t)) L_cons; (None, terms) when MCCM is off.

    Terms that cannot be formed (no expert outputs, e.g. in eval mode) or are switched off count 0.
    """
    lam = mccm_lambda(t, T)
    terms = {"wb": 0.0, "div": 0.0, "cons": 0.0, "lambda": lam}
    if gate_weights is None:
        return None, terms
    total = gate_weights.new_zeros((), dtype=torch.float32)
    if use_wb:
        wb = loss_wb(gate_weights)
        terms["wb"] = float(wb.detach())
        total = total + wb
    if expert_outputs:
        if use_div:
            div = loss_div(expert_outputs)
            terms["div"] = float(div.detach())
            total = total + lam * div
        if use_cons:
            cons = loss_cons(expert_outputs, gate_weights)
            terms["cons"] = float(cons.detach())
            total = total + (1.0 - lam) * cons
    return total, terms


# ---------------------------------------------------------------------------------------------
# SSIM and intensity
# ---------------------------------------------------------------------------------------------

_WINDOWS: dict[tuple, torch.Tensor] = {}


def _gaussian_window(size: int, sigma: float, device, dtype) -> torch.Tensor:
    key = (size, sigma, str(device), dtype)
    if key not in _WINDOWS:
        coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
        g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
        g = g / g.sum()
        _WINDOWS[key] = (g[:, None] * g[None, :]).to(device=device, dtype=dtype)[None, None]
    return _WINDOWS[key]


def ssim(x: torch.Tensor, y: torch.Tensor, *, window: int = 11, sigma: float = 1.5,
         data_range: float = 1.0, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean SSIM of (B, C, H, W) images (each channel separately), one value per sample: (B,)."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim wants two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    size = min(window, x.shape[-2], x.shape[-1])
    size -= (size + 1) % 2  # odd
    c = x.shape[1]
    win = _gaussian_window(size, sigma, x.device, x.dtype).expand(c, 1, size, size)

    def filt(z):
        return F.conv2d(z, win, groups=c)

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x ** 2
    syy = filt(y * y) - mu_y ** 2
    sxy = filt(x * y) - mu_x * mu_y
    smap = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return smap.flatten(1).mean(dim=1)


def loss_ssim(fused: torch.Tensor, i1: torch.Tensor, i2: torch.Tensor) -> torch.Tensor:
    """1 - (SSIM(I_f, I_1) + SSIM(I_f, I_2)) / 2, batch mean."""
    return (1 - 0.5 * (ssim(fused, i1) + ssim(fused, i2))).mean()


def loss_int(fused: torch.Tensor, i1: torch.Tensor, i2: torch.Tensor, task: str) -> torch.Tensor:
    """Intensity loss: mean |I_f - max(I_1, I_2)| (ivf, medical, mff), mean |I_f - mean| (mef)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    target = (i1 + i2) / 2 if task == "mef" else torch.maximum(i1, i2)
    return (fused - target).abs().mean()


# ---------------------------------------------------------------------------------------------
# Total
# ---------------------------------------------------------------------------------------------

def _get(config: Any, name: str, default):
    if config is None:
        return default
    if isinstance(config, Mapping):
        return config.get(name, default)
    return getattr(config, name, default)


def total_loss(out: Any, i1: torch.Tensor, i2: torch.Tensor, task: str, *, t: float = 0.0,
               T: float = 1.0, config: Any = None, weights: Mapping[str, float] | None = None,
               detach_fcl_sources: bool | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted total loss of one model output (an SMCOutput or anything with its attributes).

    Weights come from `weights`, else `config.loss_weights`, else DEFAULT_WEIGHTS (missing keys
    fall back to the defaults); a weight of 0 switches that loss off (it is not computed and logs
    0). `config.use_wb/use_div/use_cons` switch the MCCM sub-terms; `config.fcl_detach_sources`
    (or `detach_fcl_sources`) stops the gradient into F_mk inside L_fcl.

    Returns (total, terms): terms holds plain floats for logging: total, fcl, pcl, mccm, wb, div,
    cons, lambda, ssim, int.
    """
    w = dict(DEFAULT_WEIGHTS)
    w.update(weights if weights is not None else (_get(config, "loss_weights", None) or {}))
    if detach_fcl_sources is None:
        detach_fcl_sources = bool(_get(config, "fcl_detach_sources", False))
    fused = out.fused
    total = fused.new_zeros(())
    terms: dict[str, float] = {}

    def add(name: str, value: torch.Tensor | None) -> None:
        nonlocal total
        if value is None:
            terms[name] = 0.0
            return
        terms[name] = float(value.detach())
        total = total + w[name] * value

    feats = getattr(out, "feats", None)
    fused_feat = getattr(out, "fused_feat", None)
    if w["fcl"] and feats is not None and fused_feat is not None:
        add("fcl", loss_fcl(fused_feat, feats, detach_sources=detach_fcl_sources))
    else:
        add("fcl", None)
    add("pcl", loss_pcl(fused, i1, i2) if w["pcl"] else None)
    if w["mccm"]:
        mccm, sub = loss_mccm(getattr(out, "gate_weights", None),
                              getattr(out, "expert_outputs", None), t, T,
                              use_wb=bool(_get(config, "use_wb", True)),
                              use_div=bool(_get(config, "use_div", True)),
                              use_cons=bool(_get(config, "use_cons", True)))
        add("mccm", mccm)
    else:
        sub = {"wb": 0.0, "div": 0.0, "cons": 0.0, "lambda": mccm_lambda(t, T)}
        add("mccm", None)
    terms.update(sub)
    add("ssim", loss_ssim(fused, i1, i2) if w["ssim"] else None)
    add("int", loss_int(fused, i1, i2, task) if w["int"] else None)
    terms["total"] = float(total.detach())
    return total, terms
