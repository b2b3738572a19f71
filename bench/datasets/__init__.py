"""Dataset adapters and the spec syntax that opens them.

A dataset spec is `NAME[:ROOT][?key=value&key=value]`, e.g.

    samples                                   the embedded data (all four tasks)
    tno:../shared/data/ivf/TNO_ImageFusion
    msrs:/data/MSRS?split=test&label_set=infrared
    pairs:/data/A,/data/B?task=mef

An adapter is a function `open(root: Path | None, options: dict) -> list[Dataset]` registered in
`DATASETS` with metadata: task, description, layout (what the folder must look like), options
(the keys it accepts), source (where the dataset comes from, for `datasets fetch-info`).
Options every adapter accepts: split (keep one split), ids (a text file of sample ids to keep),
name (rename the dataset in records).
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from ..registry import DATASETS
from .base import (FUSION_TASKS, Dataset, DatasetError, Problem, Sample)  # noqa: F401

COMMON_OPTIONS = {
    "split": "keep only this split (train, val, test)",
    "ids": "path of a text file listing the sample ids to keep, one per line",
    "name": "name the dataset takes in records and tables",
}


def parse_spec(spec: str) -> tuple[str, str | None, dict[str, str]]:
    """'name:root?k=v' -> (name, root or None, options)."""
    spec = spec.strip()
    query = ""
    if "?" in spec:
        spec, query = spec.split("?", 1)
    name, sep, root = spec.partition(":")
    options = dict(parse_qsl(query, keep_blank_values=True))
    return name.strip(), (root.strip() or None) if sep else None, options


def open_datasets(spec: str) -> list[Dataset]:
    """Open every dataset a spec names (a group or a multi-subset root gives several)."""
    _load_adapters()
    name, root, options = parse_spec(spec)
    if DATASETS.is_group(name):
        if root:
            raise DatasetError(f"{name} is a group of embedded datasets and takes no folder")
        members, _ = DATASETS.expand([name])
        out = []
        for member in members:
            out.extend(open_datasets(member + (_query(options) if options else "")))
        return out
    entry = DATASETS.get(name)
    accepted = dict(COMMON_OPTIONS, **entry.get("options", {}))
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DatasetError(f"dataset {name}: unknown option(s) {', '.join(unknown)}; accepted: "
                           + ", ".join(f"{k} ({v})" for k, v in sorted(accepted.items())))
    if entry.get("needs_root", True):
        if not root:
            raise DatasetError(f"dataset {name} needs a folder: `{name}:/path/to/{name}`. "
                               f"Expected layout: {entry.get('layout', '?')}. "
                               f"`python -m bench datasets fetch-info {name}` says where to get it.")
        root_path = Path(root).expanduser()
        if not root_path.exists():
            raise DatasetError(f"dataset {name}: folder {root_path} does not exist. Expected layout: "
                               f"{entry.get('layout', '?')}")
    else:
        root_path = Path(root).expanduser() if root else None
    adapter_options = {k: v for k, v in options.items() if k not in COMMON_OPTIONS}
    datasets = entry.obj(root_path, adapter_options)
    out = []
    for ds in datasets:
        if options.get("split"):
            ds = ds.select(split=options["split"])
        if options.get("ids"):
            ids_file = Path(options["ids"])
            if not ids_file.is_file():
                raise DatasetError(f"dataset {name}: ids file {ids_file} not found")
            wanted = [ln.strip() for ln in ids_file.read_text().splitlines() if ln.strip()]
            ds = ds.select(ids=wanted)
        if options.get("name"):
            ds.name = options["name"] if len(datasets) == 1 else f"{options['name']}/{ds.name}"
        ds.options = {**ds.options, **options, "spec": spec}
        out.append(ds)
    return out


def _query(options: dict[str, str]) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in options.items())


_loaded = False


def _load_adapters() -> None:
    """Import the adapter modules (importing registers them)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    for module in ("generic", "ivf", "medical", "mff", "mef", "embedded"):
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:  # an adapter module not written yet
            if exc.name != f"{__name__}.{module}":
                raise


def registry():
    _load_adapters()
    return DATASETS
