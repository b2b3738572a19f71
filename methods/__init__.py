"""Fusion methods. Importing this package registers the built-in methods and method groups."""
from bench.registry import METHODS

from . import simple  # noqa: F401
from . import classical  # noqa: F401  (every module in methods/classical registers itself)
from . import deep  # noqa: F401
from . import smc_mamba  # noqa: F401
from . import precomputed  # noqa: F401  (the `precomputed` group: outputs shipped with datasets)
from .base import ALL_TASKS, register_method, resolve  # noqa: F401


def _members(kind_filter):
    def members(registry, context):
        task = context.get("task")
        return [e.name for e in registry
                if kind_filter(e) and e.available and (task is None or task in e.meta["tasks"])]
    return members


if not METHODS.is_group("baselines"):
    METHODS.add_group(
        "baselines", _members(lambda e: e.meta.get("baseline")),
        description="every registered baseline that fits the dataset's task: the classical "
                    "ports and the deep re-implementations (which record 'needs weights' until "
                    "given a checkpoint)")
    METHODS.add_group("classical", _members(lambda e: e.meta.get("kind") == "classical"),
                      description="classical (non-learned) methods that fit the dataset's task")
    METHODS.add_group("deep", _members(lambda e: e.meta.get("kind") == "deep"),
                      description="re-implemented deep methods that fit the dataset's task",
                      note="IFCNN and DenseFuse need weights (official checkpoints via "
                           "ifcnn?weights=PATH / densefuse?weights=PATH, or `bench train`); "
                           "published deep outputs run through the `precomputed` group.")
