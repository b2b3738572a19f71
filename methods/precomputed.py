"""The `precomputed` method group: fused outputs distributed with a dataset, run as folder methods.

A dataset adapter that finds distributed outputs (ROOT/fused/<method>/, ROOT/fused_<Method>/ or
a repository's flat fused_images/ folder; see bench.datasets.generic.find_precomputed) lists them
in `Dataset.precomputed` (method -> folder) and, where files are not named by sample id,
`Dataset.options["precomputed_format"]` (method -> file-stem pattern). For each dataset of a run,
`--methods precomputed` expands to one `folder:NAME=DIR[?pattern=...]` spec per such method:
VIFB's 25 methods, the MFIF benchmark's 18 (Lytro, MFFW), TNO's 3, IFCNN's MAX/MEAN/SUM results,
DRMF's; and any user folder laid out the same way. The runner passes the dataset in the
expansion context (`expansion_context`); without one the group is empty.

`shared_precomputed()` lists what the shared data (FUSEBENCH_DATA, default ../shared/data) holds,
for `bench list methods`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bench.registry import METHODS

# Shared-data folders with distributed fused outputs, as dataset specs relative to the data root.
SHARED_SPECS = (
    "vifb:ivf/VIFB",
    "tno:ivf/TNO_ImageFusion",
    "drmf:ivf/DRMF_IVIF_norm",
    "pairs:ivf/IFCNN_IVDataset?suffixes=_IR,_Vis&task=ivf",
    "drmf-mif:medical/DRMF_MIF_norm",
    "pairs:medical/IFCNN_MDDataset?suffixes=_1,_2&task=medical",
    "mfif:mff/MFIF_benchmark",
    "stacks:mef/IFCNN_MEDataset?task=mef",
)


@dataclass(frozen=True)
class DatasetInContext:
    """A dataset as method groups see it; printed by name in notes."""

    dataset: Any

    def __str__(self) -> str:
        return str(self.dataset.name)


def expansion_context(ds) -> dict:
    """The context the runner expands method groups with for one dataset."""
    return {"task": ds.task, "dataset": DatasetInContext(ds)}


def folder_specs(ds) -> list[str]:
    """`folder:NAME=DIR[?pattern=...]` for every distributed output of a dataset, by name."""
    formats = (ds.options or {}).get("precomputed_format") or {}
    specs = []
    for name in sorted(ds.precomputed, key=str.lower):
        spec = f"folder:{name}={ds.precomputed[name]}"
        if name in formats:
            spec += "?pattern=" + quote(formats[name], safe="{}-_.")
        specs.append(spec)
    return specs


def _members(registry, context: dict) -> list[str]:
    held = context.get("dataset")
    ds = getattr(held, "dataset", held)
    return folder_specs(ds) if hasattr(ds, "precomputed") else []


def shared_precomputed(root=None) -> list[tuple[str, str, list[str]]]:
    """(dataset spec with the absolute root, dataset name, method names) for every shared-data
    dataset with distributed outputs; empty when the shared data is absent."""
    from pathlib import Path

    from bench import paths
    from bench.datasets import DatasetError, open_datasets
    root = Path(root) if root is not None else paths.shared_data()
    out = []
    if not root.is_dir():
        return out
    for rel in SHARED_SPECS:
        name, _, rest = rel.partition(":")
        folder, sep, query = rest.partition("?")
        if not (root / folder).is_dir():
            continue
        spec = f"{name}:{root / folder}" + (sep + query)
        try:
            datasets = open_datasets(spec)
        except (DatasetError, OSError):
            continue
        out += [(spec, ds.name, sorted(ds.precomputed, key=str.lower))
                for ds in datasets if ds.precomputed]
    return out


if not METHODS.is_group("precomputed"):
    METHODS.add_group(
        "precomputed", _members,
        description="the fused outputs distributed with the dataset (ROOT/fused/<method>/ and "
                    "the layouts bench.datasets recognises), each run as folder:NAME=DIR")
