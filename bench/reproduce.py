"""Leaderboards recomputed from benchmarks' published fused outputs.

    python -m bench reproduce vifb --data ../shared/data/ivf/VIFB [--out reports/vifb_reproduction]
    python -m bench reproduce mfif --data ../shared/data/mff/MFIF_benchmark [--out reports/mfif]

vifb: VIFB's 13 metrics (profile `vifb`, bench.metrics.profiles.VIFB_METRICS) of every method
folder under ROOT/fused/<method>/<scene>.jpg, for the scenes ROOT/input/{IR,VI}/<scene>.jpg. The
sources are passed as VIFB's MATLAB code passes them: visible first (a = VI, b = IR). The values
are checked against VIFB's stored per-image MATLAB values
(ROOT/reference_metrics/vifb_metrics_single.csv: scene, method, metric, value, with VIFB's metric
names) wherever the CSV has the (scene, method, metric); the bar is |ours - stored| <=
max(1e-3 |stored|, 1e-4) (1e-4: the stored values keep 5 significant digits).

mfif: the `default` profile's metrics of ROOT/fused/<method>/<pair>.jpg for the pairs
ROOT/input/<pair>/<pair>_{A,B}.jpg; pairs are named <set>_<nn> and each set (lytro, mffw,
MFI-WHU) is its own dataset (named as the dataset registry does: lytro, mffw, mfi-whu). No stored
values to check. A method without any output for a set gives one failure record (sample '*'), a
missing output for one pair a failure of that pair.

Outputs in --out: leaderboard.{md,tex,csv} (bench.report tables), per_image.csv (every tidy
record), failures.csv, and for vifb check.csv (per value: ours, stored, deviation, within bar) and
check.md (max deviation per metric); figures/ when the figures module is present.
Scoring runs in worker processes (bench.metrics.batch.evaluate_files).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .imageio import is_image_name
from .store import COLUMNS, FUSE

# VIFB MATLAB metric name -> fusebench metric name
VIFB_NAMES = {"Avg_gradient": "AG", "Cross_entropy": "CE", "Edge_intensity": "EI",
              "Entropy": "EN", "Mutinf": "MI", "Psnr": "PSNR", "Qabf": "Qabf", "Qcb": "Qcb",
              "Qcv": "Qcv", "Rmse": "RMSE", "Spatial_frequency": "SF", "Ssim": "SSIM",
              "Variance": "SD"}
VIFB_STORED = Path("reference_metrics") / "vifb_metrics_single.csv"
REL_BAR, ABS_BAR = 1e-3, 1e-4
DEFAULT_OUT = {"vifb": Path("reports/vifb_reproduction"), "mfif": Path("reports/mfif")}
DEFAULT_DATA = {"vifb": Path("ivf/VIFB"), "mfif": Path("mff/MFIF_benchmark")}
MFIF_SETS = {"lytro": "lytro", "mffw": "mffw", "mfi-whu": "mfi-whu"}


@dataclass
class Item:
    """One fused output to score: sources in the order the benchmark passes them."""
    dataset: str
    method: str
    sample: str
    sources: tuple[Path, Path]
    fused: Path


@dataclass
class Reproduction:
    records: pd.DataFrame
    written: list[Path] = field(default_factory=list)
    check: pd.DataFrame | None = None        # per value (vifb)
    deviation: pd.DataFrame | None = None    # per metric (vifb)

    @property
    def within_bar(self) -> bool:
        return self.deviation is None or int(self.deviation["outside_bar"].sum()) == 0


def _images_by_stem(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and is_image_name(p)}


def _method_dirs(root: Path, methods: list[str] | None) -> list[Path]:
    fused = root / "fused"
    if not fused.is_dir():
        raise FileNotFoundError(f"no fused outputs at {fused} (expected fused/<method>/)")
    dirs = sorted((p for p in fused.iterdir() if p.is_dir()), key=lambda p: p.name.lower())
    if methods:
        wanted = {m.lower() for m in methods}
        unknown = wanted - {p.name.lower() for p in dirs}
        if unknown:
            raise FileNotFoundError(f"no fused/<method> folder for {', '.join(sorted(unknown))} in "
                                    f"{fused}; there: {', '.join(p.name for p in dirs)}")
        dirs = [p for p in dirs if p.name.lower() in wanted]
    return dirs


def _fail(dataset: str, method: str, sample: str, reason: str, run_id: str) -> dict:
    return dict(run_id=run_id, dataset=dataset, split="all", method=method, sample=sample,
                metric=FUSE, value=None, profile="-", status="failed", reason=reason, seconds=None)


def vifb_items(root: Path, limit: int | None = None,
               methods: list[str] | None = None) -> tuple[list[Item], list[dict]]:
    ir, vi = _images_by_stem(root / "input" / "IR"), _images_by_stem(root / "input" / "VI")
    scenes = sorted(set(ir) & set(vi))[:limit]
    items, failures = [], []
    for d in _method_dirs(root, methods):
        outputs = _images_by_stem(d)
        for scene in scenes:
            if scene in outputs:
                items.append(Item("vifb", d.name, scene, (vi[scene], ir[scene]), outputs[scene]))
            else:
                failures.append(_fail("vifb", d.name, scene, f"no fused image {scene}.* in {d}",
                                      "reproduce-vifb"))
    return items, failures


def mfif_items(root: Path, limit: int | None = None,
               methods: list[str] | None = None) -> tuple[list[Item], list[dict]]:
    pairs: dict[str, list[tuple[str, tuple[Path, Path]]]] = {}
    for d in sorted(p for p in (root / "input").iterdir() if p.is_dir()):
        found = _images_by_stem(d)
        a, b = found.get(f"{d.name}_A"), found.get(f"{d.name}_B")
        if a and b:
            dataset = MFIF_SETS.get(d.name.rsplit("_", 1)[0].lower(), d.name.rsplit("_", 1)[0])
            pairs.setdefault(dataset, []).append((d.name, (a, b)))
    items, failures = [], []
    for d in _method_dirs(root, methods):
        outputs = _images_by_stem(d)
        for dataset, members in sorted(pairs.items()):
            members = members[:limit]
            if not any(name in outputs for name, _ in members):
                failures.append(_fail(dataset, d.name, "*", f"no fused outputs for the "
                                      f"{len(members)} {dataset} pairs in {d}", "reproduce-mfif"))
                continue
            for name, srcs in members:
                if name in outputs:
                    items.append(Item(dataset, d.name, name, srcs, outputs[name]))
                else:
                    failures.append(_fail(dataset, d.name, name, f"no fused image {name}.* in {d}",
                                          "reproduce-mfif"))
    return items, failures


def score(items: list[Item], metrics: list[str], profile: str, run_id: str,
          workers: int | None = None) -> pd.DataFrame:
    """Metric records (the store's tidy columns) of every item, scored in worker processes."""
    from .metrics.batch import evaluate_files
    table = evaluate_files([(*it.sources, it.fused) for it in items], metrics, profile=profile,
                           workers=workers)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    meta = pd.DataFrame([{"triple": i, "dataset": it.dataset, "method": it.method,
                          "sample": it.sample} for i, it in enumerate(items)])
    rec = table.merge(meta, on="triple")
    rec = rec.assign(run_id=run_id, split="all", seconds=None,
                     reason=rec["reason"].fillna(""))
    return rec[COLUMNS].reset_index(drop=True)


def check_vifb(records: pd.DataFrame, stored_csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per value: scene, method, metric, ours, stored, abs_dev, rel_dev, within_bar;
    per metric: n, max_rel_dev, max_abs_dev, outside_bar) where the stored CSV has the value."""
    stored = pd.read_csv(stored_csv)
    stored = stored.assign(metric=stored["metric"].map(VIFB_NAMES))
    ours = records[records["status"] == "ok"][["method", "sample", "metric", "value"]]
    both = stored.rename(columns={"scene": "sample", "value": "stored"}).merge(
        ours.rename(columns={"value": "ours"}), on=["sample", "method", "metric"])
    both["abs_dev"] = (both["ours"] - both["stored"]).abs()
    both["rel_dev"] = both["abs_dev"] / both["stored"].abs()
    both["within_bar"] = both["abs_dev"] <= (REL_BAR * both["stored"].abs()).clip(lower=ABS_BAR)
    per_metric = both.groupby("metric").agg(n=("ours", "size"), max_rel_dev=("rel_dev", "max"),
                                            max_abs_dev=("abs_dev", "max"),
                                            outside_bar=("within_bar", lambda s: int((~s).sum())))
    both = both.rename(columns={"sample": "scene"})
    return both[["scene", "method", "metric", "ours", "stored", "abs_dev", "rel_dev",
                 "within_bar"]], per_metric.reset_index()


def write_leaderboard(records: pd.DataFrame, out: Path, *, title: str, header: list[str],
                      formats: tuple[str, ...] = ("md", "latex", "csv"), std: bool = False,
                      figures: bool = True) -> list[Path]:
    """leaderboard.{md,tex,csv}, per_image.csv, failures.csv (and figures/) in `out`."""
    from .report.latex import report_latex
    from .report.markdown import report_markdown
    from .report.tables import build_report
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(records, title=title, header=header, std=std)
    written = []
    if "md" in formats:
        written.append(_write(out / "leaderboard.md", report_markdown(report)))
    if "latex" in formats:
        written.append(_write(out / "leaderboard.tex", report_latex(report)))
    if "csv" in formats:
        written.append(_write(out / "leaderboard.csv", report.tidy().to_csv(index=False)))
    written.append(_write(out / "per_image.csv", records.to_csv(index=False)))
    written.append(_write(out / "failures.csv", report.failures_frame().to_csv(index=False)))
    if figures:
        written += make_figures(records, out / "figures")
    return written


def make_figures(records: pd.DataFrame, out_dir: Path, run_dir: Path | None = None,
                 metrics: list[str] | None = None) -> list[Path]:
    """Figures by bench.report.figures when that module exists (another part of issue #7)."""
    from .report.tables import directions, is_fusion_metric
    try:
        from .report.figures import write_figures
    except ImportError as exc:
        print(f"figures skipped: bench.report.figures is not available ({exc})", file=sys.stderr)
        return []
    names = [m for m in records["metric"].unique() if is_fusion_metric(m)]
    return list(write_figures(records, out_dir, run_dir=run_dir, directions=directions(names),
                              metrics=metrics))


def _write(path: Path, text: str) -> Path:
    from .imageio import atomic_write_bytes
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def reproduce_vifb(root: Path, out: Path, *, limit: int | None = None,
                   methods: list[str] | None = None, workers: int | None = None,
                   formats=("md", "latex", "csv"), std: bool = False,
                   figures: bool = True) -> Reproduction:
    from .metrics.profiles import VIFB_METRICS
    items, failures = vifb_items(root, limit, methods)
    records = pd.concat([score(items, list(VIFB_METRICS), "vifb", "reproduce-vifb", workers),
                         pd.DataFrame(failures, columns=COLUMNS)], ignore_index=True)
    result = Reproduction(records)
    header = [f"VIFB fused outputs in `{root}`: {records['method'].nunique()} methods x "
              f"{records['sample'].nunique()} scenes, VIFB's 13 metrics under profile `vifb` "
              "(sources passed visible first, as VIFB's MATLAB code does)."]
    stored_csv = root / VIFB_STORED
    if stored_csv.exists():
        result.check, result.deviation = check_vifb(records, stored_csv)
        out.mkdir(parents=True, exist_ok=True)
        result.written.append(_write(out / "check.csv", result.check.to_csv(index=False)))
        md = deviation_markdown(result.deviation, len(result.check))
        result.written.append(_write(out / "check.md", md))
        header.append(deviation_summary(result.deviation, len(result.check)))
    else:
        header.append(f"No stored MATLAB values at {stored_csv}; nothing checked.")
    result.written += write_leaderboard(records, out, title="VIFB leaderboard (reproduced)",
                                        header=header, formats=formats, std=std, figures=figures)
    return result


def reproduce_mfif(root: Path, out: Path, *, limit: int | None = None,
                   methods: list[str] | None = None, workers: int | None = None,
                   formats=("md", "latex", "csv"), std: bool = False,
                   figures: bool = True) -> Reproduction:
    from .metrics.profiles import DEFAULT_METRICS
    items, failures = mfif_items(root, limit, methods)
    records = pd.concat([score(items, list(DEFAULT_METRICS), "default", "reproduce-mfif",
                               workers), pd.DataFrame(failures, columns=COLUMNS)],
                        ignore_index=True)
    header = [f"MFIF benchmark fused outputs in `{root}`: {records['method'].nunique()} methods, "
              f"profile `default` (no stored values to check)."]
    result = Reproduction(records)
    result.written += write_leaderboard(records, out, title="MFIF leaderboard (reproduced)",
                                        header=header, formats=formats, std=std, figures=figures)
    return result


def deviation_summary(deviation: pd.DataFrame, n_values: int) -> str:
    """One line for the leaderboard's header."""
    if deviation.empty:
        return "No stored VIFB MATLAB value matches these methods and scenes; nothing checked."
    worst = deviation.loc[deviation["max_rel_dev"].idxmax()]
    outside = int(deviation["outside_bar"].sum())
    return (f"Checked {n_values} values against VIFB's stored MATLAB values: largest relative "
            f"deviation {worst['max_rel_dev']:.2e} ({worst['metric']}); "
            f"{'all within' if not outside else f'{outside} outside'} the bar "
            f"({REL_BAR:g} relative or {ABS_BAR:g} absolute); per metric in `check.md`.")


def deviation_markdown(deviation: pd.DataFrame, n_values: int) -> str:
    show = deviation.assign(max_rel_dev=deviation["max_rel_dev"].map(lambda v: f"{v:.2e}"),
                            max_abs_dev=deviation["max_abs_dev"].map(lambda v: f"{v:.2e}"))
    return (f"Check against VIFB's stored MATLAB values ({n_values} values; bar: within "
            f"{REL_BAR:g} relative or {ABS_BAR:g} absolute):\n\n"
            + show.to_markdown(index=False, disable_numparse=True) + "\n")
