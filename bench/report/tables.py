"""Report tables built from tidy records (bench.store): the shapes of the SMC-Mamba paper's tables.

Table kinds
- fusion (paper Tables 1/2): one table per (dataset, profile); rows are methods grouped as
  task-specific or general, columns the metrics with an arrow from each metric's direction.
- segmentation (paper Table 4): per-class IoU and mIoU; detection: mAP50, mAP50-95, per-class AP.
  One table per (dataset, protocol).
- efficiency (paper Table 3): params, FLOPs and latency per method, with the device named.

Cells are the mean over the records of a (method, metric); `std=True` adds the sample standard
deviation (ddof=1; 0 for one value). n, the number of values, is shown per row (a range `a-b` when
metrics differ). A cell with no value but failed records reads "failed"; a mean over fewer values
than records because some failed carries a dagger; a cell without records is empty. Decimals: 3
(as the paper), 1 for columns reaching 1000, 1 for downstream percentages and latency (ms).

Best / second-best rule: means are compared as displayed (rounded to the column's digits).
Every method tied at the best displayed value is marked best (bold); every method at the next
distinct displayed value is marked second (underlined): dense ranking, so a tie for best still
leaves an underlined second-best value. Nothing is marked in a column with values from fewer than
two methods, and a column whose values all tie gets bold only.

Method groups (fusion tables): a registered method (bench.registry.METHODS, the label before any
`?params`) is 'general' when its kind is 'smc' or it is registered for more than one fusion task,
else 'task-specific'. A method without an entry (folder outputs) takes its type from the paper
records (results/paper/smc_mamba_aaai2026.csv, note 'type=...'), and is otherwise
'task-specific': nothing says it is general. Rows are ordered source, task-specific, general,
by name within a group, with kind 'smc' last (the proposed method, as papers place it).

Record naming for downstream and efficiency values (the store's tidy records):
- segmentation: metric 'IoU/<class>' and 'mIoU', values in percent (0..100);
- detection: 'mAP50', 'mAP50-95', 'AP50/<class>' and optionally 'AP50-95/<class>', in percent;
- for both, `profile` names the protocol (e.g. 'deeplabv3plus-msrs', 'yolov8n-coco-ft-80/20');
  '-' reads "protocol not recorded". `sample` is '*' for a dataset-level score (or a seed/fold
  id when several runs are averaged). A failed downstream task may also be one record whose
  metric is the task name ('segment', 'detect'), as the runner writes for an unavailable task.
- efficiency: 'params' (parameter count), 'flops' (count as thop reports it, i.e. multiply-adds,
  which papers call FLOPs), 'latency_ms' (ms per image); `sample` is the input size 'HxW'
  (paper: '480x640'), `profile` the device it was timed on. Without a 'latency_ms' record, the
  mean fusion time of the method's ok 'fuse' records is shown instead, labelled as measured at
  the run's image sizes on the run's machine (not for precomputed outputs, whose 'fuse' time is
  file reading).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..store import FUSE, LOAD, NO_PROFILE

PAPER_CSV = Path(__file__).resolve().parents[2] / "results" / "paper" / "smc_mamba_aaai2026.csv"

SEG_PREFIX, DET_AP_PREFIXES = "IoU/", ("AP50/", "AP50-95/")
SEG_SUMMARY, DET_SUMMARY = ("mIoU",), ("mAP50", "mAP50-95", "precision", "recall")
DOWNSTREAM_TASK_NAMES = ("segment", "detect")
EFFICIENCY = ("params", "flops", "latency_ms")
GROUP_ORDER = ("source", "task-specific", "general")
MARK_BEST, MARK_SECOND = "best", "second"
PERCENT_DIGITS = 1  # downstream percentages, as the paper's Table 4


# -- record classification -------------------------------------------------------------------

def is_segmentation(metric: str) -> bool:
    return metric.startswith(SEG_PREFIX) or metric in SEG_SUMMARY


def is_detection(metric: str) -> bool:
    return metric.startswith(DET_AP_PREFIXES) or metric in DET_SUMMARY


def is_fusion_metric(metric: str) -> bool:
    return not (metric in (FUSE, LOAD) or metric in EFFICIENCY or metric in DOWNSTREAM_TASK_NAMES
                or is_segmentation(metric) or is_detection(metric))


def metric_direction(metric: str) -> str | None:
    """'higher' | 'lower' | None (unknown: not ranked)."""
    if is_segmentation(metric) or is_detection(metric):
        return "higher"
    if metric in EFFICIENCY:
        return "lower"
    from ..registry import METRICS
    try:
        return METRICS.get(metric).meta["direction"]
    except KeyError:
        return None


def directions(metrics) -> dict[str, str]:
    """metric -> direction for the metrics whose direction is known (for figures)."""
    return {m: d for m in metrics if (d := metric_direction(m)) is not None}


# -- method groups -----------------------------------------------------------------------------

def normalise_name(name: str) -> str:
    """Comparison key of a name: lower case, letters and digits only ('MFI-WHU' -> 'mfiwhu')."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def paper_types(path: Path = PAPER_CSV) -> dict[str, str]:
    """normalised method name -> 'general' | 'task-specific' | 'source', from the paper CSV."""
    if not path.exists():
        return {}
    df = pd.read_csv(path)
    types = df["note"].fillna("").str.extract(r"type=([\w-]+)")[0]
    return {normalise_name(m): t for m, t in zip(df["method"], types) if isinstance(t, str)}


def method_group(label: str, known_types: dict[str, str] | None = None) -> str:
    """'general' | 'task-specific' | 'source' for a method label (see the module docstring)."""
    from ..registry import METHODS
    base = label.split("?")[0]
    if base in METHODS:
        meta = METHODS.get(base).meta
        return "general" if meta.get("kind") == "smc" or len(meta.get("tasks", ())) > 1 \
            else "task-specific"
    types = paper_types() if known_types is None else known_types
    return types.get(normalise_name(base), "task-specific")


def _is_proposed(label: str) -> bool:
    from ..registry import METHODS
    base = label.split("?")[0]
    return base in METHODS and METHODS.get(base).meta.get("kind") == "smc"


# -- cells and ranking -------------------------------------------------------------------------

def column_digits(means) -> int:
    """Decimals shown in a column: 3 (as the paper), 1 from 1000 up."""
    finite = [abs(v) for v in means if v is not None and math.isfinite(v)]
    return 1 if finite and max(finite) >= 1000 else 3


def rank_marks(means: dict[str, float | None], direction: str | None,
               digits: int) -> dict[str, str]:
    """Row -> '' | 'best' | 'second' by the rule in the module docstring."""
    marks = {k: "" for k in means}
    shown = {k: float(f"{v:.{digits}f}") for k, v in means.items()  # exactly as displayed
             if v is not None and math.isfinite(v)}
    if direction not in ("higher", "lower") or len(shown) < 2:
        return marks
    distinct = sorted(set(shown.values()), reverse=direction == "higher")
    for k, v in shown.items():
        if v == distinct[0]:
            marks[k] = MARK_BEST
        elif len(distinct) > 1 and v == distinct[1]:
            marks[k] = MARK_SECOND
    return marks


@dataclass
class Cell:
    mean: float | None
    std: float | None
    n: int
    failed: int = 0
    mark: str = ""

    @property
    def empty(self) -> bool:
        return self.mean is None


@dataclass
class Column:
    key: str                 # the metric name in the records
    label: str               # header text, without the arrow
    direction: str | None
    digits: int | None = None  # decimals shown; None: `column_digits` of the values
    scale: float = 1.0         # displayed value = mean * scale (efficiency units)


@dataclass
class Row:
    label: str
    group: str
    cells: dict[str, Cell]
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def n_text(self) -> str:
        ns = sorted({c.n for c in self.cells.values() if c.n})
        if not ns:
            return "0"
        return str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"


@dataclass
class Failure:
    method: str
    metric: str
    reason: str
    samples: list[str]


@dataclass
class Table:
    kind: str                      # 'fusion' | 'segmentation' | 'detection' | 'efficiency'
    title: str
    caption: str
    columns: list[Column]
    rows: list[Row]
    show_std: bool = False
    dataset: str = ""
    split: str = ""
    profile: str = ""
    extra_columns: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def grouped(self) -> bool:
        return self.kind == "fusion"

    def tidy(self) -> pd.DataFrame:
        """One row per (method, column): the table's values as data."""
        rows = []
        for r in self.rows:
            for c in self.columns:
                cell = r.cells[c.key]
                rows.append({"table": self.kind, "dataset": self.dataset, "split": self.split,
                             "profile": self.profile, "group": r.group, "method": r.label,
                             "metric": c.key, "direction": c.direction or "", "mean": cell.mean,
                             "std": cell.std, "n": cell.n, "failed": cell.failed,
                             "mark": cell.mark, **r.extra})
        return pd.DataFrame(rows)


@dataclass
class Report:
    title: str
    header: list[str]
    tables: list[Table]
    other_failures: list[Failure] = field(default_factory=list)

    def tidy(self) -> pd.DataFrame:
        parts = [t.tidy() for t in self.tables]
        parts = [p for p in parts if not p.empty]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def failures_frame(self) -> pd.DataFrame:
        rows = [{"table": t.kind, "dataset": t.dataset, "method": f.method, "metric": f.metric,
                 "reason": f.reason, "count": len(f.samples), "samples": " ".join(f.samples)}
                for t in self.tables for f in t.failures]
        rows += [{"table": "other", "dataset": "", "method": f.method, "metric": f.metric,
                  "reason": f.reason, "count": len(f.samples), "samples": " ".join(f.samples)}
                 for f in self.other_failures]
        return pd.DataFrame(rows, columns=["table", "dataset", "method", "metric", "reason",
                                           "count", "samples"])


# -- building ------------------------------------------------------------------------------------

def _cell(values: pd.DataFrame) -> Cell:
    ok = values.loc[values["status"] == "ok", "value"].astype(float).to_numpy()
    ok = ok[np.isfinite(ok)]
    failed = int((values["status"] == "failed").sum())
    if ok.size == 0:
        return Cell(None, None, 0, failed)
    std = float(np.std(ok, ddof=1)) if ok.size > 1 else 0.0
    return Cell(float(np.mean(ok)), std, int(ok.size), failed)


def _failures(df: pd.DataFrame) -> list[Failure]:
    """Failed records collapsed by (method, metric, reason), every sample kept."""
    bad = df[df["status"] == "failed"]
    out = []
    for (method, metric, reason), g in bad.groupby(["method", "metric", "reason"], sort=True):
        out.append(Failure(method, metric, reason, sorted(g["sample"].astype(str).unique())))
    return out


def _order_rows(labels, groups: dict[str, str]) -> list[str]:
    def key(label):
        g = groups[label]
        return (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER),
                _is_proposed(label), label.lower())
    return sorted(labels, key=key)


def _build(kind: str, df: pd.DataFrame, columns: list[Column], *, title: str, caption: str,
           std: bool, groups: dict[str, str] | None = None, dataset: str = "", split: str = "",
           profile: str = "", notes: list[str] | None = None, methods=None) -> Table:
    methods = sorted(df["method"].unique()) if methods is None else methods
    groups = groups or {m: "" for m in methods}
    order = _order_rows(methods, groups) if kind == "fusion" else sorted(methods, key=str.lower)
    by_key = {k: g for k, g in df.groupby(["method", "metric"])}
    empty = df.iloc[0:0]
    rows = [Row(m, groups.get(m, ""), {c.key: _cell(by_key.get((m, c.key), empty))
                                       for c in columns}) for m in order]
    for c in columns:
        if c.digits is None:
            c.digits = column_digits([r.cells[c.key].mean * c.scale for r in rows
                                      if r.cells[c.key].mean is not None])
        marks = rank_marks({r.label: (None if r.cells[c.key].mean is None
                                      else r.cells[c.key].mean * c.scale) for r in rows},
                           c.direction, c.digits)
        for r in rows:
            r.cells[c.key].mark = marks[r.label]
    notes = list(notes or [])
    if any(c.failed and c.mean is not None for r in rows for c in r.cells.values()):
        notes.append(DAGGER_NOTE)
    return Table(kind, title, caption, columns, rows, std, dataset, split, profile, notes=notes)


CELL_NOTE = ("Cells: mean{std} over {what}; n = values per cell. Bold: best; underlined: second "
             "best (compared as displayed; ties all marked; the next distinct value is second).")
DAGGER_NOTE = "\u2020: mean of the values that exist; the others failed (listed below)."


def _cell_note(std: bool, what: str = "images") -> str:
    return CELL_NOTE.format(std=" \u00b1 sample std" if std else "", what=what)


def fusion_tables(records: pd.DataFrame, *, std: bool = False,
                  known_types: dict[str, str] | None = None) -> list[Table]:
    """One fusion table per (dataset, profile) of the records' fusion metrics."""
    known_types = paper_types() if known_types is None else known_types
    rec = records[records["method"] != "-"]
    metric_rec = rec[rec["metric"].map(is_fusion_metric)]
    tables = []
    for dataset in sorted(rec["dataset"].unique()):
        part = rec[rec["dataset"] == dataset]
        mpart = metric_rec[metric_rec["dataset"] == dataset]
        profiles = sorted(mpart["profile"].unique()) or ["none"]  # no metric values at all
        fuse = records[(records["dataset"] == dataset) & (records["metric"] == FUSE)
                       & (records["sample"] != "*")]
        n_samples = len((set(fuse["sample"]) | set(mpart["sample"])) - {"*"})
        split = ", ".join(sorted(part["split"].unique()))
        task = dataset_task(dataset)
        for profile in profiles:
            cur = mpart[mpart["profile"] == profile]
            metrics = _metric_order(cur["metric"].unique(), profile)
            columns = [Column(m, m, metric_direction(m)) for m in metrics]
            methods = sorted(part["method"].unique())
            groups = {m: method_group(m, known_types) for m in methods}
            # fusion / load failures belong to every profile's table of the dataset
            fails = pd.concat([cur, records[(records["dataset"] == dataset)
                                            & records["metric"].isin([FUSE, LOAD])]])
            caption = (f"{dataset}{f' ({task})' if task else ''}, split {split}, "
                       f"n = {n_samples} samples, metric profile `{profile}`.")
            table = _build("fusion", cur, columns, title=f"{dataset} \u00b7 profile {profile}",
                           caption=caption, std=std, groups=groups, dataset=dataset, split=split,
                           profile=profile, notes=[_cell_note(std)], methods=methods)
            table.failures = _failures(fails)
            tables.append(table)
    return tables


def _metric_order(metrics, profile: str = "") -> list[str]:
    """The toolkit's order where the metrics are within a profile's set (the table's own profile
    first), else alphabetical."""
    from ..metrics.profiles import PROFILES
    metrics = list(metrics)
    own = [PROFILES[profile]] if profile in PROFILES else []
    for p in own + list(PROFILES.values()):
        if set(metrics) <= set(p.metrics):
            return [m for m in p.metrics if m in metrics]
    return sorted(metrics, key=str.lower)


def dataset_task(name: str) -> str | None:
    from ..datasets import registry
    datasets = registry()  # every adapter registered
    for key in (name, name.split("/")[0], name.split(":")[0]):
        if key in datasets:
            task = datasets.get(key).meta.get("task")
            return task if task in ("ivf", "medical", "mff", "mef") else None
    return None


def _classes(metrics, prefix: str) -> list[str]:
    names = {m[len(prefix):] for m in metrics if m.startswith(prefix)}
    first = [n for n in names if n.lower() in ("background", "unlabelled", "unlabeled")]
    return sorted(first) + sorted(names - set(first), key=str.lower)


def downstream_tables(records: pd.DataFrame, *, std: bool = False) -> list[Table]:
    """Segmentation and detection tables, one per (dataset, protocol)."""
    tables = []
    for kind, test in (("segmentation", is_segmentation), ("detection", is_detection)):
        task_name = "segment" if kind == "segmentation" else "detect"
        rec = records[records["metric"].map(test) | (records["metric"] == task_name)]
        for (dataset, protocol), part in rec.groupby(["dataset", "profile"], sort=True):
            values = part[part["metric"] != task_name]
            metrics = set(values["metric"])
            if kind == "segmentation":
                columns = [Column(f"{SEG_PREFIX}{c}", c, "higher", PERCENT_DIGITS)
                           for c in _classes(metrics, SEG_PREFIX)]
                columns += [Column(m, m, "higher", PERCENT_DIGITS) for m in SEG_SUMMARY
                            if m in metrics]
                unit = "IoU (%) per class and mIoU"
            else:
                columns = [Column(m, m, "higher", PERCENT_DIGITS) for m in DET_SUMMARY
                           if m in metrics]
                for prefix in DET_AP_PREFIXES:
                    columns += [Column(f"{prefix}{c}", f"{prefix}{c}", "higher", PERCENT_DIGITS)
                                for c in _classes(metrics, prefix)]
                unit = "mAP50, mAP50-95 and per-class AP (%)"
            proto = "protocol not recorded" if protocol == NO_PROFILE else f"protocol `{protocol}`"
            n = values.loc[values["status"] == "ok"].groupby(["method", "metric"]).size()
            caption = (f"{kind.capitalize()} on {dataset}: {unit}; {proto}; "
                       f"n = {int(n.max()) if len(n) else 0} value(s) per cell.")
            table = _build(kind, values, columns, title=f"{dataset} \u00b7 {kind}",
                           caption=caption, std=std, dataset=dataset, profile=protocol,
                           notes=[_cell_note(std, "runs (seeds/folds; one for a single run)")],
                           methods=sorted(part["method"].unique()))
            table.failures = _failures(part)
            tables.append(table)
    return tables


def efficiency_table(records: pd.DataFrame, *, machine: str = "",
                     precomputed: frozenset[str] = frozenset()) -> Table | None:
    """Params (M), FLOPs (G) and latency (ms) per method; None when nothing to show.

    precomputed: method labels whose outputs were read from files (their 'fuse' seconds time the
    reading, so they give no latency)."""
    eff = records[records["metric"].isin(EFFICIENCY)]
    fuse = records[(records["metric"] == FUSE) & (records["status"] == "ok")
                   & records["seconds"].notna() & (records["method"] != "-")]
    fuse = fuse[~fuse["method"].isin(precomputed)]
    methods = sorted(set(eff["method"]) | set(fuse["method"]), key=str.lower)  # timed ones
    if not methods:
        return None
    data = eff.copy()
    sources = {}
    for m in methods:
        if ((eff["method"] == m) & (eff["metric"] == "latency_ms")).any():
            sizes = ", ".join(sorted(eff.loc[(eff["method"] == m)
                                             & (eff["metric"] == "latency_ms"), "sample"]
                                     .astype(str).unique()))
            sources[m] = f"recorded at {sizes}"
        elif (fuse["method"] == m).any():
            f = fuse[fuse["method"] == m]
            rows = f.assign(metric="latency_ms", value=f["seconds"] * 1000.0)
            data = pd.concat([data, rows], ignore_index=True)
            sources[m] = (f"fuse time, run image sizes ({', '.join(sorted(f['dataset'].unique()))};"
                          f" {len(f)} images)")
        else:
            sources[m] = ("none: precomputed outputs (fuse time is file reading)"
                          if m in precomputed else "none")
    devices = sorted(d for d in eff["profile"].unique() if d != NO_PROFILE)
    device = ", ".join(devices) if devices else (machine or "not recorded")
    if any(s.startswith("fuse") for s in sources.values()) and machine and machine not in device:
        device += f"; fuse times on {machine}"
    columns = [Column("params", "Params (M)", "lower", 3, 1e-6),
               Column("flops", "FLOPs (G)", "lower", 3, 1e-9),
               Column("latency_ms", "Latency (ms)", "lower", 1)]  # 0.1 ms resolution
    table = _build("efficiency", data, columns, title="Efficiency",
                   caption=(f"Efficiency: params and FLOPs (thop count) at 480x640; latency per "
                            f"image; device: {device}."),
                   std=False, methods=methods,
                   notes=["Latency source per row: a 'latency_ms' record at the size named, or the "
                          "mean fusion time of the run's images (their own sizes), which is not "
                          "comparable with 480x640 numbers. Latency is ranked only when every row "
                          "has the same source kind."])
    table.extra_columns = ("latency source",)
    kinds = {s.split(" ")[0] for s in sources.values() if s != "none"}
    for r in table.rows:
        r.extra["latency source"] = sources[r.label]
        if len(kinds) > 1:
            r.cells["latency_ms"].mark = ""
    table.failures = _failures(eff)
    return table


def build_report(records: pd.DataFrame, *, title: str = "fusebench report",
                 header: list[str] | None = None, profile: str | None = None, std: bool = False,
                 machine: str = "", precomputed: frozenset[str] = frozenset()) -> Report:
    """All tables of a set of records. profile: keep only that profile's fusion records;
    machine: the device fusion times were measured on; precomputed: see `efficiency_table`."""
    records = records.copy()
    if profile is not None:
        keep = ~records["metric"].map(is_fusion_metric) | (records["profile"] == profile)
        records = records[keep]
    tables = fusion_tables(records, std=std) + downstream_tables(records, std=std)
    eff = efficiency_table(records, machine=machine, precomputed=precomputed)
    if eff is not None:
        tables.append(eff)
    claimed = set()
    for t in tables:
        for f in t.failures:
            claimed.add((f.method, f.metric, f.reason))
    bad = records[records["status"] == "failed"]
    unclaimed = pd.Series([(m, k, r) not in claimed for m, k, r in
                           zip(bad["method"], bad["metric"], bad["reason"])], index=bad.index,
                          dtype=bool)
    leftover = bad[unclaimed]
    return Report(title, list(header or []), tables, _failures(leftover))


def format_number(value: float | None, digits: int) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def cell_text(cell: Cell, column: Column, show_std: bool) -> str:
    """The plain text of a cell: '1.234', '1.234 ± 0.010', 'failed' or '' (no record)."""
    if cell.mean is None:
        return "failed" if cell.failed else ""
    text = format_number(cell.mean * column.scale, column.digits)
    if show_std and cell.std is not None:
        text += f" \u00b1 {format_number(cell.std * column.scale, column.digits)}"
    return text
