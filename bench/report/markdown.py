"""Markdown summary of a run: per dataset, methods x metrics as mean ± std, with n."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..registry import METRICS
from ..store import FUSE, LOAD, Store


def _arrow(metric: str) -> str:
    try:
        return " ↑" if METRICS.get(metric).meta["direction"] == "higher" else " ↓"
    except KeyError:
        return ""


def _fmt(values: pd.Series) -> str:
    v = values.to_numpy(dtype=float)
    if v.size == 0:
        return "–"
    mean = float(np.mean(v))
    std = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
    digits = 4 if abs(mean) < 10 else 2
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def dataset_table(df: pd.DataFrame) -> str:
    """One dataset's ok metric records -> Markdown table (rows methods, columns metrics)."""
    metrics = sorted(df["metric"].unique(), key=str.lower)
    profile = ", ".join(sorted(df["profile"].unique()))
    rows = []
    for method, group in df.groupby("method", sort=True):
        row = {"method": method}
        ns = set()
        for metric in metrics:
            vals = group.loc[group["metric"] == metric, "value"]
            row[metric + _arrow(metric)] = _fmt(vals)
            ns.add(len(vals))
        row["n"] = "/".join(str(n) for n in sorted(ns))
        rows.append(row)
    table = pd.DataFrame(rows).to_markdown(index=False)
    return f"{table}\n\nCells: mean ± sample std over images; n = images scored. Profile: `{profile}`."


def run_summary_markdown(store: Store, run_id: str, notes: list[str] | None = None) -> str:
    df = store.dataframe(run_id)
    info = store.run_info(run_id) or {}
    lines = [f"# fusebench run `{run_id}`", ""]
    if info:
        cfg = info["config"]
        lines += [f"Methods: `{', '.join(cfg.get('methods', []))}` · datasets: "
                  f"`{', '.join(cfg.get('datasets', []))}` · tasks: `{', '.join(cfg.get('tasks', []))}`"
                  f" · profile: `{cfg.get('profile')}` · updated {info['updated']}", ""]
    for note in notes or []:
        lines.append(f"> note: {note}")
    if notes:
        lines.append("")
    if df.empty:
        return "\n".join(lines + ["No records."])
    for dataset in sorted(df["dataset"].unique()):
        part = df[df["dataset"] == dataset]
        ok = part[(part["status"] == "ok") & ~part["metric"].isin([FUSE, LOAD])]
        splits = ", ".join(sorted(part["split"].unique()))
        n_samples = part.loc[(part["metric"] == FUSE) & (part["sample"] != "*"), "sample"].nunique()
        lines += [f"## {dataset}", "", f"Split: {splits} · samples: {n_samples}", ""]
        lines.append(dataset_table(ok) if not ok.empty else "No metric values.")
        fails = part[part["status"] == "failed"]
        if not fails.empty:
            lines += ["", f"**Failures ({len(fails)}):**", ""]
            for r in fails.itertuples():
                lines.append(f"- `{r.method}` · `{r.sample}` · {r.metric}: {r.reason}")
        lines.append("")
    return "\n".join(lines)


def write_run_report(store: Store, run_id: str, run_dir: Path, notes: list[str] | None = None) -> Path:
    from ..imageio import atomic_write_bytes
    path = Path(run_dir) / "report.md"
    atomic_write_bytes(path, run_summary_markdown(store, run_id, notes).encode("utf-8"))
    return path
