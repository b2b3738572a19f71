"""SMCConfig: every architecture, ablation and loss switch of SMC-Mamba as plain data.

The config is a dataclass that round-trips through a plain JSON dict (`to_dict` / `from_dict`),
because it is stored inside checkpoints. It is validated once, when built, with clear errors.

Defaults follow the spec's reference config (SMC_MAMBA_SPEC.md §10, end): C = 16, C_m = D = 48,
N = 4 experts, top-2, d_state = 16, bidirectional scans, shared MAFE, head 48->24->1, loss weights
(0.8, 0.4, 1, 1, 1) [P §4.4].

Width choice (spec §10.1 allows it, the issue asks for it): the two MAFE SSM blocks get
Mamba-style in/out projections with `mafe_expand = 6` (d_inner = 96). Whole-model parameters
(shared MAFE, per-modality expert projections) by expand: 1 (literal) 0.079 M, 2 (the spec's
example) 0.088 M, 4 0.104 M -- all below the +-30 % band around the paper's 0.149 M [P §8] --
6: 0.122 M (-18 %), 8: 0.141 M (-5 %). Expand 6 is the default because its thop-style count at
480x640, 46.23 G MACs, matches the paper's 46.105 G within 0.3 % (expand 8: 57.3 G, +24 %) and
its scans are a quarter narrower. See benchmarks/smc_latency.py for every variant.

Table 3 ablations [P §8] are named overrides in `ABLATIONS`; build one with
`SMCConfig.from_ablation(name)`.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

CORE_OPS = ("mamba", "conv", "attention", "window_attention")
LOSS_TERMS = ("fcl", "pcl", "mccm", "ssim", "int")


def _default_loss_weights() -> dict[str, float]:
    # lambda_1..lambda_5 of L_total [P §4.4]
    return {"fcl": 0.8, "pcl": 0.4, "mccm": 1.0, "ssim": 1.0, "int": 1.0}


class ConfigError(ValueError):
    """An SMCConfig that cannot describe a working model; the message says which field."""


@dataclass
class SMCConfig:
    """Hyper-parameters of one SMC-Mamba model (architecture + loss switches).

    Widths
      in_channels       channels of each input and of the output (1: the Y channel) [R §1]
      channels          C: shallow features and each MAFE sub-branch [R §10.1]
      expert_dim        D: expert width; must equal C_m = 3C so that F_mf matches F_mk [R §10.8]
      head_hidden       hidden width of the reconstruction head (D/2) [R §1]
      mafe_expand       d_inner / C of the two MAFE SSM blocks (Mamba in/out projections) [R §10.1]
    SSM (Mamba-1, no causal conv1d) [R §10.2]
      d_state, dt_rank (None: ceil(d_inner / 16)), dt_min, dt_max, dt_init_floor
      channel_lift      width of the per-pixel channel scan's 1->k lift [R §10.4]
      pixel_chunk       pixels per channel-scan call (memory bound only; no effect on results)
    MCCM [P §3]
      num_experts, top_k, gate_noise (noisy top-k in training), gate_init_std (W_g init; 0 = zeros)
      expert_per_modality  separate LN/Linear/Conv1x1 per modality inside each expert [R, mccm.py]
    Switches (Table 3 ablations) [P §8]
      core_op           'mamba' | 'conv' | 'attention' | 'window_attention'
      use_mafe, use_mccm
      sc_scan           False: plain raster spatial scan (no channel scan) in MAFE
      fr_scan           False: raster order over the unshifted spectrum (no spiral from DC)
      cm_scan           False: each modality scanned alone (no token/channel interleaving)
      bidirectional     False: forward scans only
      mafe_shared_weights  True: one shallow conv + MAFE for both inputs [R §10.3]
      attn_head_dim, window_size  for the attention ablations
    Losses (read by the training code)
      loss_weights      {fcl, pcl, mccm, ssim, int} [P §4.4]; 0 disables a term
      use_wb, use_div, use_cons   the three terms of L_mccm [P §3.3]
      fcl_detach_sources  stop-gradient F_mk inside L_fcl (off by default) [R §10.10]
    ablation            name of the ABLATIONS entry this config came from (informational)
    """

    in_channels: int = 1
    channels: int = 16
    expert_dim: int = 48
    head_hidden: int = 24
    mafe_expand: int = 6
    d_state: int = 16
    dt_rank: int | None = None
    dt_min: float = 1e-3
    dt_max: float = 0.1
    dt_init_floor: float = 1e-4
    channel_lift: int = 4
    pixel_chunk: int = 16384
    num_experts: int = 4
    top_k: int = 2
    expert_per_modality: bool = True
    gate_noise: bool = True
    gate_init_std: float = 0.0
    core_op: str = "mamba"
    use_mafe: bool = True
    use_mccm: bool = True
    sc_scan: bool = True
    fr_scan: bool = True
    cm_scan: bool = True
    bidirectional: bool = True
    mafe_shared_weights: bool = True
    attn_head_dim: int = 16
    window_size: int = 8
    loss_weights: dict[str, float] = field(default_factory=_default_loss_weights)
    use_wb: bool = True
    use_div: bool = True
    use_cons: bool = True
    fcl_detach_sources: bool = False
    ablation: str = "full"

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ derived widths
    @property
    def feat_channels(self) -> int:
        """C_m = 3C: channels of F_mk = Cat(F_L, F_spa, F_fre) [D §2.3]."""
        return 3 * self.channels

    def ssm_dt_rank(self, d_inner: int) -> int:
        """dt_rank of an SSM with `d_inner` channels: configured, or ceil(d/16) [R §10.2]."""
        return self.dt_rank if self.dt_rank else math.ceil(d_inner / 16)

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        def positive(name: str) -> None:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")

        for name in ("in_channels", "channels", "expert_dim", "head_hidden", "mafe_expand",
                     "d_state", "channel_lift", "pixel_chunk", "num_experts", "top_k",
                     "attn_head_dim", "window_size"):
            positive(name)
        if self.dt_rank is not None:
            positive("dt_rank")
        if self.expert_dim != self.feat_channels:
            raise ConfigError(f"expert_dim must equal C_m = 3 * channels = {self.feat_channels} "
                              f"(F_mf and F_mk share one width for L_fcl), got {self.expert_dim}")
        if not 1 <= self.top_k <= self.num_experts:
            raise ConfigError(f"top_k must be in 1..num_experts={self.num_experts}, "
                              f"got {self.top_k}")
        if self.core_op not in CORE_OPS:
            raise ConfigError(f"core_op must be one of {CORE_OPS}, got {self.core_op!r}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ConfigError(f"need 0 < dt_min <= dt_max, got {self.dt_min}, {self.dt_max}")
        if self.gate_init_std < 0:
            raise ConfigError(f"gate_init_std must be >= 0, got {self.gate_init_std}")
        for name in ("gate_noise", "expert_per_modality", "use_mafe", "use_mccm", "sc_scan",
                     "fr_scan", "cm_scan", "bidirectional", "mafe_shared_weights", "use_wb",
                     "use_div", "use_cons", "fcl_detach_sources"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if not isinstance(self.loss_weights, dict) or set(self.loss_weights) != set(LOSS_TERMS):
            raise ConfigError(f"loss_weights must have exactly the keys {LOSS_TERMS}, "
                              f"got {self.loss_weights!r}")
        for key, value in self.loss_weights.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"loss_weights[{key!r}] must be a number >= 0, got {value!r}")
        self.loss_weights = {k: float(self.loss_weights[k]) for k in LOSS_TERMS}

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-serialisable dict (stored in checkpoints)."""
        out = dataclasses.asdict(self)
        out["loss_weights"] = dict(self.loss_weights)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SMCConfig":
        """Inverse of `to_dict`; unknown keys are an error (a typo must not pass silently)."""
        if not isinstance(data, dict):
            raise ConfigError(f"expected a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown SMCConfig field(s): {unknown}")
        data = dict(data)
        if "loss_weights" in data:
            data["loss_weights"] = _merged_loss_weights(data["loss_weights"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "SMCConfig":
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_ablation(cls, name: str, **overrides: Any) -> "SMCConfig":
        """The config of a Table 3 row [P §8]: ABLATIONS[name] on top of the defaults, then
        `overrides` (loss_weights entries are merged into the defaults, not replaced)."""
        if name not in ABLATIONS:
            raise ConfigError(f"unknown ablation {name!r}; known: {sorted(ABLATIONS)}")
        data: dict[str, Any] = {**ABLATIONS[name], "ablation": name}
        for key, value in overrides.items():
            if key == "loss_weights":
                data[key] = {**data.get(key, {}), **value}
            else:
                data[key] = value
        return cls.from_dict(data)


def _merged_loss_weights(partial: Any) -> dict[str, float]:
    if not isinstance(partial, dict):
        raise ConfigError(f"loss_weights must be a dict, got {partial!r}")
    unknown = sorted(set(partial) - set(LOSS_TERMS))
    if unknown:
        raise ConfigError(f"unknown loss term(s) {unknown}; known: {LOSS_TERMS}")
    return {**_default_loss_weights(), **partial}


# Table 3 of the paper [P §8]: name -> overrides of the defaults. The architecture rows change
# the network; the loss rows change only what the training code optimises; the scan rows keep
# the parameters (up to the few of a removed channel scan / reverse direction) and change the
# scan order, as Table 3's "-" (same params/FLOPs) implies.
ABLATIONS: dict[str, dict[str, Any]] = {
    "full": {},
    "mamba_to_conv": {"core_op": "conv"},
    "mamba_to_attention": {"core_op": "attention"},
    "mamba_to_window_attention": {"core_op": "window_attention"},
    "no_mafe": {"use_mafe": False},
    "no_mccm": {"use_mccm": False},
    "no_fcl": {"loss_weights": {"fcl": 0.0}},
    "no_pcl": {"loss_weights": {"pcl": 0.0}},
    "no_fcl_pcl": {"loss_weights": {"fcl": 0.0, "pcl": 0.0}},
    "no_wb": {"use_wb": False},
    "no_div": {"use_div": False},
    "no_cons": {"use_cons": False},
    "no_mccm_loss": {"loss_weights": {"mccm": 0.0}},
    "no_sc_scan": {"sc_scan": False},
    "no_fr_scan": {"fr_scan": False},
    "no_cm_scan": {"cm_scan": False},
    "single_direction": {"bidirectional": False},
}
