"""SMC-Mamba (Self-supervised Multiplex Consensus Mamba, AAAI 2026): the first public
implementation, registered as method `smc` for all four tasks.

Modules: config (SMCConfig, ablations), model (SMCMamba), mafe / mccm / ssm / scans (the
blocks), scan (the selective scan: mamba-ssm's CUDA kernel or our numba CPU kernel), losses
(BSCL, MCCM, SSIM, intensity), data + train (`python -m bench train smc`), weights (file
format), method (inference wrapper). The spec is ../shared/SMC_MAMBA_SPEC.md.
"""
from ..base import ALL_TASKS, register_method
from .method import SMCFusion

register_method(
    "smc", tasks=ALL_TASKS, kind="smc", aliases=("smc-mamba", "smc_mamba"),
    description="SMC-Mamba (Self-supervised Multiplex Consensus Mamba, AAAI 2026); one model "
                "per task, shipped weights methods/smc_mamba/weights/smc_<task>.pt or "
                "smc?weights=PATH",
    paper="Wang et al., Self-supervised Multiplex Consensus Mamba for General Image Fusion, "
          "AAAI 2026", year=2026, needs=("weights",), device="any")(SMCFusion)


def __getattr__(name):
    """`methods.smc_mamba.selective_scan` is imported on first use, so that registering the
    method (every `python -m bench` call) does not import torch."""
    if name == "selective_scan":
        from .scan import selective_scan
        return selective_scan
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
