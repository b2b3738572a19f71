"""SMC-Mamba (AAAI 2026): placeholder until the implementation lands (issue #4).

Registered now so that `--methods smc` says plainly that it cannot run yet, instead of
silently doing nothing.
"""
from ..base import ALL_TASKS, register_method


@register_method("smc", tasks=ALL_TASKS, kind="smc", available=False,
                 description="SMC-Mamba (Self-supervised Multiplex Consensus Mamba, AAAI 2026)",
                 paper="SMC-Mamba, AAAI 2026", year=2026, needs=("weights",),
                 reason="SMC-Mamba is not implemented yet: the model, scan, training and shipped "
                        "weights land with issue #4 (methods/smc_mamba).")
class SMCMamba:  # pragma: no cover - never instantiated while unavailable
    pass
