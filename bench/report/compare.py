"""Our numbers beside a paper's: `bench report RUN --compare paper`.

The paper's values are tidy records in results/paper/smc_mamba_aaai2026.csv (method, dataset,
metric, value, source_table, note), transcribed from SMC_MAMBA_SPEC.md sections 6.2, 6.3, 7.1, 8
(the paper's Tables 1, 2, 4 and 3). Units as our records: fusion metrics as printed, IoU in
percent, params as a count, flops as a count, latency in ms.

Matching (names compared case- and punctuation-blind, `tables.normalise_name`):
- methods: our label before any `?params`, its registered canonical name, or `METHOD_ALIASES`
  ('smc' is the paper's 'SMC-Mamba');
- datasets: `DATASET_ALIASES` (msrs, roadscene, m3fd, lytro, mfi-whu and the MFIF benchmark's
  'MFI-WHU' spelling); efficiency values (params, flops, latency_ms) match whatever dataset;
- metrics: our canonical metric name (registry aliases resolved); downstream names as written.
The paper does not say which metric implementation it used (spec 6.1), so a difference mixes
implementation and method; the profile of our number is shown beside it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .tables import EFFICIENCY, PAPER_CSV, normalise_name

PAPERS = {"paper": PAPER_CSV, "smc_mamba_aaai2026": PAPER_CSV}
METHOD_ALIASES = {"smc": "smcmamba", "smcmamba": "smcmamba"}
DATASET_ALIASES = {"msrs": "msrs", "roadscene": "roadscene", "m3fd": "m3fd", "lytro": "lytro",
                   "mfiwhu": "mfiwhu"}
COLUMNS = ["dataset", "method", "metric", "profile", "ours", "n", "paper", "diff", "rel_diff",
           "paper_dataset", "paper_method", "source_table", "note"]


def load_paper(name_or_path: str | Path = "paper") -> pd.DataFrame:
    """The paper's tidy records (columns method, dataset, metric, value, source_table, note)."""
    path = PAPERS.get(str(name_or_path), Path(name_or_path))
    df = pd.read_csv(path, dtype={"method": str, "dataset": str, "metric": str,
                                  "source_table": str, "note": str}, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    return df


def _metric_key(metric: str) -> str:
    from ..registry import METRICS
    if "/" in metric or metric not in METRICS:
        return metric.lower()
    return METRICS.canonical(metric)


def _method_keys(label: str) -> set[str]:
    from ..registry import METHODS
    base = label.split("?")[0]
    keys = {normalise_name(base)}
    if base in METHODS:
        keys.add(normalise_name(METHODS.get(base).name))
    return {METHOD_ALIASES.get(k, k) for k in keys}


def compare(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """ours: tidy cells (dataset, method, metric, mean, n[, profile]) -> rows where both exist.

    diff = ours - paper; rel_diff = diff / |paper| (NaN where the paper's value is 0). A paper row
    that matches several of our rows (e.g. two profiles) appears once per our row."""
    if ours.empty or paper.empty:
        return pd.DataFrame(columns=COLUMNS)
    p = paper.assign(_d=paper["dataset"].map(lambda d: DATASET_ALIASES.get(normalise_name(d))),
                     _m=paper["method"].map(lambda m: METHOD_ALIASES.get(normalise_name(m),
                                                                          normalise_name(m))),
                     _k=paper["metric"].map(_metric_key))
    rows = []
    for r in ours.itertuples(index=False):
        if r.mean is None or pd.isna(r.mean):
            continue
        d = DATASET_ALIASES.get(normalise_name(str(r.dataset)))
        efficiency = str(r.metric) in EFFICIENCY  # not tied to a dataset (paper: 480x640)
        if d is None and not efficiency:
            continue
        hit = p[((p["_d"] == d) | efficiency) & p["_m"].isin(_method_keys(str(r.method)))
                & (p["_k"] == _metric_key(str(r.metric)))]
        for h in hit.itertuples(index=False):
            diff = float(r.mean) - h.value
            rows.append({"dataset": r.dataset, "method": r.method, "metric": r.metric,
                         "profile": getattr(r, "profile", ""), "ours": float(r.mean),
                         "n": int(r.n), "paper": h.value, "diff": diff,
                         "rel_diff": diff / abs(h.value) if h.value else float("nan"),
                         "paper_dataset": h.dataset, "paper_method": h.method,
                         "source_table": h.source_table, "note": h.note})
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_markdown(table: pd.DataFrame) -> str:
    """The comparison as Markdown, one block per (dataset, source table)."""
    intro = ("Ours beside the paper (results/paper/smc_mamba_aaai2026.csv). diff = ours - paper. "
             "The paper's metric implementation is not stated, so differences mix "
             "implementation and method.")
    if table.empty:
        return (f"{intro}\n\nNo overlap: no (dataset, method, metric) of this run is in the paper "
                "(datasets MSRS, RoadScene, M3FD, Lytro, MFI-WHU; methods as in its Tables 1-4).")
    out = [intro, ""]
    for (dataset, source), g in table.groupby(["dataset", "source_table"], sort=True):
        show = g.assign(ours=g["ours"].map(lambda v: f"{v:.4g}"),
                        paper=g["paper"].map(lambda v: f"{v:.4g}"),
                        diff=g["diff"].map(lambda v: f"{v:+.4g}"),
                        rel_diff=g["rel_diff"].map(lambda v: f"{v:+.1%}" if pd.notna(v) else ""),
                        note=g["note"].str.replace(r"type=[\w-]+;? ?", "", regex=True))
        cols = ["method", "metric", "profile", "ours", "n", "paper", "diff", "rel_diff", "note"]
        out += [f"**{dataset} vs paper {source} ({g['paper_dataset'].iloc[0]})**", "",
                show[cols].to_markdown(index=False, disable_numparse=True), ""]
    return "\n".join(out)
