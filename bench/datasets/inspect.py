"""`datasets inspect` and `datasets fetch-info`: what a dataset folder holds, where to get one.

inspect_datasets(spec) opens every dataset a spec names and reports, per dataset: samples per
split, image sizes (distinct (w, h) with counts), modes per modality (L, RGB, RGB-grey, RGBA,
'... 16-bit'), file formats, size mismatches inside a sample (sources, gt and mask must share one
size), unreadable files, discovery problems, label coverage (samples and boxes per label set,
masks, ground truth), precomputed outputs per method, and the fingerprint. The result is plain
JSON-able data; format_inspection turns it into a text report.

Modes need decoding (an RGB file may hold grey content), so by default files are decoded with
`bench.imageio.read_image` (threads; about a second per hundred 640x480 pairs) when a dataset has
at most DECODE_LIMIT files, and probed from headers with PIL otherwise (then 'RGB' may be
RGB-grey and truncated files go unnoticed; the report says which was done).
"""
from __future__ import annotations

import os
import textwrap
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import COMMON_OPTIONS, open_datasets, registry
from .base import Dataset, DatasetError

DECODE_LIMIT = 2000


def _probe_decode(path: Path) -> dict:
    from ..imageio import read_image
    img = read_image(path)
    h, w = img.shape
    mode = img.source_mode + (" 16-bit" if img.bits == 16 else "")
    return {"size": (w, h), "mode": mode, "format": img.fmt}


def _probe_header(path: Path) -> dict:
    from PIL import Image
    with Image.open(path) as im:
        mode = {"I;16": "L 16-bit", "I;16B": "L 16-bit", "I;16L": "L 16-bit",
                "I": "L 16-bit"}.get(im.mode, im.mode)
        return {"size": tuple(im.size), "mode": mode, "format": (im.format or "?").lower()}


def _probe_all(paths: list[Path], decode: bool) -> dict[Path, dict]:
    probe = _probe_decode if decode else _probe_header

    def one(p: Path) -> dict:
        try:
            return probe(p)
        except Exception as exc:  # any failure is a finding, not a crash
            return {"error": str(exc) or type(exc).__name__}

    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(paths, pool.map(one, paths)))


def _size_text(size) -> str:
    return f"{size[0]}x{size[1]}"


def _label_coverage(ds: Dataset) -> dict:
    sets = sorted({n for s in ds.samples for n in s.boxes})
    if len(sets) > 1:
        sets.append("union")
    out = {}
    for name in sets:
        covered = [s for s in ds.samples if (s.boxes if name == "union" else name in s.boxes)]
        classes: Counter = Counter()
        errors = []
        for s in covered:
            try:
                boxes = ds.read_boxes(s, name)
            except Exception as exc:
                errors.append({"sample": s.id, "error": str(exc)})
                continue
            for cls in boxes[:, 0].astype(int).tolist():
                classes[ds.det_classes[cls] if cls < len(ds.det_classes) else str(cls)] += 1
        out[name] = {"samples": len(covered), "boxes": sum(classes.values()),
                     "classes": dict(classes), "errors": errors}
    return out


def _mask_coverage(ds: Dataset, decode: bool) -> dict:
    with_mask = [s for s in ds.samples if s.mask is not None]
    errors = []
    if decode:
        for s in with_mask:
            try:
                ds.read_mask(s)
            except Exception as exc:
                errors.append({"sample": s.id, "error": str(exc)})
    return {"samples": len(with_mask), "errors": errors}


def _precomputed_coverage(ds: Dataset) -> dict:
    formats = ds.options.get("precomputed_format", {})
    out = {}
    for method, folder in sorted(ds.precomputed.items()):
        pattern = formats.get(method, "{id}")
        stems = {p.stem for p in Path(folder).iterdir() if p.is_file()}
        out[method] = {"folder": str(folder),
                       "samples": sum(pattern.format(id=s.id) in stems for s in ds.samples)}
    return out


def inspect_dataset(ds: Dataset, decode: bool | None = None) -> dict:
    """Findings for one opened Dataset (see the module docstring)."""
    files = sorted({p for s in ds.samples for _, p in s.files() if p.suffix.lower()
                    not in (".txt", ".xml")})
    decode = len(files) <= DECODE_LIMIT if decode is None else decode
    probes = _probe_all(files, decode)
    sizes: Counter = Counter()
    modes: dict[str, Counter] = {m: Counter() for m in ds.modalities}
    formats: Counter = Counter()
    mismatches, unreadable = [], []
    for s in ds.samples:
        sample_sizes = {}
        for role, p in s.files():
            info = probes.get(p)
            if info is None:
                continue
            if "error" in info:
                unreadable.append({"sample": s.id, "role": role, "path": str(p),
                                   "error": info["error"]})
                continue
            sample_sizes[role] = info["size"]
            if role in s.modalities:
                sizes[info["size"]] += 1
                formats[info["format"]] += 1
                modes.setdefault(role, Counter())[info["mode"]] += 1
        if len(set(sample_sizes.values())) > 1:
            mismatches.append({"sample": s.id, "sizes": {r: _size_text(v)
                                                         for r, v in sample_sizes.items()}})
    return {
        "name": ds.name, "task": ds.task, "root": str(ds.root) if ds.root else None,
        "modalities": list(ds.modalities), "samples": len(ds.samples),
        "splits": dict(sorted(Counter(s.split for s in ds.samples).items())),
        "stack_lengths": dict(sorted(Counter(len(s.sources) for s in ds.samples).items())),
        "sizes": [[w, h, n] for (w, h), n in sizes.most_common()],
        "modes": {m: dict(c.most_common()) for m, c in modes.items()},
        "formats": dict(formats.most_common()),
        "decoded": decode, "files": len(files),
        "size_mismatches": mismatches, "unreadable": unreadable,
        "problems": [{"sample": p.sample, "path": p.path, "reason": p.reason} for p in ds.problems],
        "boxes": _label_coverage(ds), "masks": _mask_coverage(ds, decode),
        "gt": sum(s.gt is not None for s in ds.samples),
        "det_classes": list(ds.det_classes), "seg_classes": list(ds.seg_classes),
        "default_label_set": ds.default_label_set,
        "precomputed": _precomputed_coverage(ds),
        "fingerprint": ds.fingerprint(),
    }


def inspect_datasets(spec: str, decode: bool | None = None) -> dict:
    """Open a spec (`tno:DIR?subset=tno25`) and inspect every dataset it yields."""
    return {"spec": spec, "datasets": [inspect_dataset(ds, decode) for ds in open_datasets(spec)]}


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------

def _counts(counter: dict, limit: int = 8) -> str:
    items = list(counter.items())
    text = ", ".join(f"{k} x{v}" for k, v in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _listing(title: str, rows: list[str], limit: int = 10) -> list[str]:
    if not rows:
        return [f"  {title}: none"]
    out = [f"  {title} ({len(rows)}):"]
    out += [f"    - {r}" for r in rows[:limit]]
    if len(rows) > limit:
        out.append(f"    ... {len(rows) - limit} more")
    return out


def format_inspection(result: dict) -> str:
    """Readable report of `inspect_datasets` output."""
    lines = [f"spec: {result.get('spec', '')}"]
    for d in result["datasets"]:
        lines.append("")
        lines.append(f"{d['name']}  (task {d['task']}, modalities {', '.join(d['modalities'])})")
        lines.append(f"  root: {d['root']}")
        splits = ", ".join(f"{k} {v}" for k, v in d["splits"].items())
        lines.append(f"  samples: {d['samples']}" + (f" ({splits})" if splits else ""))
        if set(d["stack_lengths"]) - {2}:
            lines.append(f"  sources per sample: {_counts(d['stack_lengths'])}")
        sizes = {f"{w}x{h}": n for w, h, n in d["sizes"]}
        lines.append(f"  sizes: {len(sizes)} distinct: {_counts(sizes)}")
        how = "decoded" if d["decoded"] else "headers only (RGB may be RGB-grey)"
        lines.append(f"  modes ({how}): " + "; ".join(f"{m}: {_counts(c)}"
                                                      for m, c in d["modes"].items()))
        lines.append(f"  formats: {_counts(d['formats'])}")
        lines += _listing("size mismatches within a sample",
                          [f"{m['sample']}: " + ", ".join(f"{r} {s}" for r, s in m["sizes"].items())
                           for m in d["size_mismatches"]])
        lines += _listing("unreadable files", [f"{u['path']}: {u['error']}"
                                               for u in d["unreadable"]])
        lines += _listing("discovery problems", [p["reason"] for p in d["problems"]])
        if d["boxes"]:
            lines.append(f"  boxes (classes {', '.join(d['det_classes'])}; default "
                         f"{d['default_label_set']}):")
            for name, b in d["boxes"].items():
                err = f", {len(b['errors'])} unreadable" if b["errors"] else ""
                lines.append(f"    {name}: {b['samples']}/{d['samples']} samples, {b['boxes']} "
                             f"boxes ({_counts(b['classes'])}){err}")
        else:
            lines.append("  boxes: none")
        m = d["masks"]
        if m["samples"]:
            err = f", {len(m['errors'])} with values outside the class table" if m["errors"] else ""
            lines.append(f"  masks: {m['samples']}/{d['samples']} samples "
                         f"({len(d['seg_classes'])} classes){err}")
        else:
            lines.append("  masks: none")
        lines.append(f"  ground truth: {d['gt']}/{d['samples']} samples")
        if d["precomputed"]:
            lines.append(f"  precomputed outputs ({len(d['precomputed'])} methods): " +
                         ", ".join(f"{k} {v['samples']}/{d['samples']}"
                                   for k, v in d["precomputed"].items()))
        else:
            lines.append("  precomputed outputs: none")
        lines.append(f"  fingerprint: {d['fingerprint']}")
    return "\n".join(lines)


def fetch_info(name: str) -> str:
    """Registry metadata of a dataset adapter (or group) as text: where to get it, how to open it."""
    reg = registry()
    if reg.is_group(name):
        group = reg.group(name)
        members, notes = reg.expand([name])
        lines = [f"{group.name} (group): {group.description}", f"  members: {', '.join(members)}"]
        return "\n".join(lines + [f"  note: {n}" for n in notes])
    try:
        entry = reg.get(name)
    except KeyError as exc:
        raise DatasetError(str(exc)) from None

    def wrap(text, indent="    "):
        return textwrap.fill(str(text), width=96, initial_indent=indent, subsequent_indent=indent)

    lines = [f"{entry.name} (task {entry.get('task', '?')}): {entry.get('description', '')}"]
    if entry.get("modalities"):
        lines.append(f"  modalities: {', '.join(entry['modalities'])}")
    lines += ["  layout:", wrap(entry.get("layout", "(not stated)"))]
    lines.append("  options:")
    for key, text in {**entry.get("options", {}), **COMMON_OPTIONS}.items():
        lines.append(wrap(f"{key}: {text}"))
    lines += ["  source:", wrap(entry.get("source", "(not stated)"))]
    if entry.get("needs_root", True):
        lines.append(f"  open with: python -m bench datasets inspect {entry.name}:/path/to/folder")
    return "\n".join(lines)
