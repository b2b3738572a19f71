"""Report figures of a run: sorted per-image curves, box plots, rank heat-map, efficiency
scatter and qualitative grids with zoomed insets. Each written as PNG (200 dpi: 700 px at column width) and PDF.

Conventions
- Input is the store's tidy records (bench.store.COLUMNS) as a DataFrame. Metric values are the
  records with status 'ok', a finite value, and a metric other than 'fuse', 'load',
  'latency_ms' or 'params'. Failed and NaN values are left out and the figure says how many, per
  method. A metric scored under several profiles in one dataset is shown as 'metric (profile)'.
- Figures are per dataset. Each kind is a pure function (data in, matplotlib Figure out);
  `write_figures` chooses the data and writes files named `<dataset>-<kind>[-<metric>].<ext>`.
- Directions: metric -> 'higher' | 'lower' (which is better). Ranks: 1 = best, computed on the
  per-method mean over images, ties get the average of the ranks they span (pandas
  'average'). A metric without a direction is plotted but not ranked.
- Images for the qualitative grid are float in [0, 1], H x W grey or H x W x 3 RGB.
- Look: see bench.report._style (3.5 in column width, >= 7 pt DejaVu Sans, Okabe-Ito colours,
  one fixed colour/marker/line style per method in every figure).
"""
from __future__ import annotations

import json
import math
import os
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import pandas as pd

from ..store import FUSE, LOAD

if TYPE_CHECKING:
    from matplotlib.figure import Figure
from . import _style
from ._style import (COLUMN_IN, DOUBLE_COLUMN_IN, INSET_COLOURS, direction_label, format_value,
                     legend_columns, method_order, method_styles, new_figure, styled, wrap_title)

LATENCY = "latency_ms"
PARAMS = "params"
NOT_SCORES = frozenset({FUSE, LOAD, LATENCY, PARAMS})
Crop = tuple[int, int, int, int]  # x, y, w, h in pixels (x = column of the left edge)


# -- data ------------------------------------------------------------------------------------
def metric_values(records: pd.DataFrame, metrics: Sequence[str] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records -> (values, excluded).

    values: one row per usable score, columns dataset, method, sample, metric (label shown),
        base (the metric's registry name, for its direction), value.
    excluded: dataset, metric, method, n: scores left out because they failed or are NaN/inf.
    `metrics` keeps only those metric names (in any profile); None keeps every score metric.
    """
    cols = ["dataset", "method", "sample", "metric", "base", "value"]
    if records is None or records.empty:
        return (pd.DataFrame(columns=cols),
                pd.DataFrame(columns=["dataset", "metric", "method", "n"]))
    df = records[~records["metric"].isin(NOT_SCORES)].copy()
    if metrics is not None:
        df = df[df["metric"].isin(list(metrics))]
    df["base"] = df["metric"]
    profiles = df.groupby(["dataset", "metric"])["profile"].transform("nunique")
    several = profiles > 1
    df.loc[several, "metric"] = df.loc[several, "metric"] + " (" + df.loc[several, "profile"] + ")"
    value = pd.to_numeric(df["value"], errors="coerce").astype(float)
    good = (df["status"] == "ok") & np.isfinite(value)
    df["value"] = value
    bad = df[~good]
    excluded = (bad.groupby(["dataset", "metric", "method"]).size().rename("n").reset_index()
                if not bad.empty else pd.DataFrame(columns=["dataset", "metric", "method", "n"]))
    return df.loc[good, cols].reset_index(drop=True), excluded


def excluded_note(excluded: pd.DataFrame, width: int = 60) -> str:
    """'left out (failed/NaN): a 2, b 1' for one dataset+metric, wrapped; '' when none."""
    if excluded is None or excluded.empty:
        return ""
    parts = [f"{r.method} {int(r.n)}" for r in excluded.itertuples()]
    return "\n".join(textwrap.wrap("left out (failed/NaN): " + ", ".join(parts), width))


def rank_table(values: pd.DataFrame, directions: dict[str, str], order: Sequence[str]
               ) -> pd.DataFrame:
    """Methods x metrics ranks of the per-method mean (1 = best; ties averaged).

    values: rows of one dataset (columns method, metric, base, value). Metrics whose `base` has
    no direction are left out. A method without values for a metric gets NaN there.
    """
    order = list(order)
    if values.empty:
        return pd.DataFrame(index=pd.Index(order, name="method"))
    means = values.pivot_table(index="method", columns="metric", values="value", aggfunc="mean")
    bases = values.drop_duplicates("metric").set_index("metric")["base"]
    ranks = {}
    for metric in means.columns:
        direction = directions.get(bases[metric])
        if direction not in ("higher", "lower"):
            continue
        ranks[metric] = means[metric].rank(ascending=direction == "lower", method="average")
    out = pd.DataFrame(ranks).reindex(order)
    out.index.name = "method"
    return out


def efficiency_table(records: pd.DataFrame, metric: str, order: Sequence[str]) -> pd.DataFrame:
    """Per method of one dataset: latency_ms, params, score (mean of `metric`), source.

    Latency is the mean of 'latency_ms' records where a method has them, else 1000 x the mean
    'fuse' seconds of its successful fusions (source 'fuse'). Params: mean of 'params' records,
    NaN when absent. Methods lacking a latency or the score are dropped."""
    ok = records[records["status"] == "ok"]
    num = pd.to_numeric(ok["value"], errors="coerce")
    rows = []
    for method in order:
        mine = ok["method"] == method
        lat = num[mine & (ok["metric"] == LATENCY)].dropna()
        if len(lat):
            latency, source = float(lat.mean()), LATENCY
        else:
            secs = pd.to_numeric(ok.loc[mine & (ok["metric"] == FUSE), "seconds"],
                                 errors="coerce").dropna()
            latency, source = (float(secs.mean()) * 1000.0, FUSE) if len(secs) else (math.nan, "")
        params = num[mine & (ok["metric"] == PARAMS)].dropna()
        score = num[mine & (ok["metric"] == metric)]
        score = score[np.isfinite(score)]
        rows.append({"method": method, "latency_ms": latency,
                     "params": float(params.mean()) if len(params) else math.nan,
                     "score": float(score.mean()) if len(score) else math.nan, "source": source})
    table = pd.DataFrame(rows, columns=["method", "latency_ms", "params", "score", "source"])
    return table[np.isfinite(table["latency_ms"]) & np.isfinite(table["score"])
                 & (table["latency_ms"] > 0)].reset_index(drop=True)


# -- automatic inset --------------------------------------------------------------------------
def to_grey(img: np.ndarray) -> np.ndarray:
    """H x W (x 3) -> H x W float64 (BT.601 luma for RGB)."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 3:
        return a[..., :3] @ np.array([0.299, 0.587, 0.114])
    return a


def pick_insets(images: Sequence[np.ndarray], n: int = 2, size: tuple[int, int] | None = None
                ) -> list[Crop]:
    """Up to `n` non-overlapping windows (x, y, w, h) where the images differ most.

    Score of a pixel: the across-image variance of the images' detail (grey minus a Gaussian
    blur of sigma = window/4) plus 0.1 x the across-image variance of the grey levels, so that
    windows on differing structure (edges, texture, small targets) beat flat areas that only
    differ in brightness, while pure brightness differences still count. One image: its
    detail energy (where it has most detail). A window's score is the sum over its pixels.
    Windows are w x h = `size`, default a square of 1/5 of the shorter side. Greedy: the best
    window, then the best one at least one window away from it. Flat score (identical
    images): the centre.
    """
    import cv2
    greys = [to_grey(im) for im in images]
    if not greys:
        return []
    shape = greys[0].shape
    if any(g.shape != shape for g in greys):
        raise ValueError(f"images differ in size: {sorted({g.shape for g in greys})}")
    H, W = shape
    if size is None:
        side = max(8, round(min(H, W) / 5))
        size = (side, side)
    w, h = min(int(size[0]), W), min(int(size[1]), H)
    sigma = max(1.0, min(w, h) / 4.0)
    stack = np.stack(greys)
    detail = np.stack([g - cv2.GaussianBlur(g, (0, 0), sigma) for g in greys])
    if len(greys) >= 2:
        score = detail.var(axis=0) + 0.1 * stack.var(axis=0)
    else:
        score = detail[0] ** 2
    # window sums from the integral image: sums[y, x] = sum of score[y:y+h, x:x+w]
    I = cv2.integral(np.ascontiguousarray(score, dtype=np.float64), sdepth=cv2.CV_64F)
    sums = I[h:, w:] - I[:-h, w:] - I[h:, :-w] + I[:-h, :-w]
    crops: list[Crop] = []
    if not np.any(sums > 1e-12 * max(1.0, float(np.abs(sums).max()))):
        return [((W - w) // 2, (H - h) // 2, w, h)]
    for _ in range(n):
        best = float(sums.max())
        if not np.isfinite(best) or (crops and best <= 0):
            break
        y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
        crops.append((int(x), int(y), w, h))
        # the next window keeps a gap of one window from this one (no overlap, and not the
        # halo of the same difference)
        sums[max(0, y - 2 * h + 1): y + 2 * h, max(0, x - 2 * w + 1): x + 2 * w] = -np.inf
    return crops


def clamp_crop(crop: Sequence[int], shape: tuple[int, int]) -> Crop:
    """A user's (x, y, w, h) moved/cut to lie inside an H x W image (ValueError if empty)."""
    H, W = shape
    x, y, w, h = (int(v) for v in crop)
    if w <= 0 or h <= 0:
        raise ValueError(f"crop {tuple(crop)}: width and height must be positive")
    w, h = min(w, W), min(h, H)
    return min(max(0, x), W - w), min(max(0, y), H - h), w, h


def _inset_corners(crops: Sequence[Crop], shape: tuple[int, int], frac_w: float
                   ) -> list[tuple[float, float, float, float]]:
    """Axes-fraction rectangles (x0, y0, w, h) for the zoomed views, one per crop: distinct
    corners, each covering as little of any crop box as possible (bottom corners preferred)."""
    H, W = shape
    corners = [(0, 0), (1, 0), (0, 1), (1, 1)]  # (right?, top?) in axes fraction, y up
    free = list(corners)
    out = []
    for x, y, w, h in crops:
        # keep the crop's aspect on screen: a panel is W wide by H tall (same scale)
        fw, fh = frac_w, frac_w * (h / w) * (W / H)
        if fh > 0.48:  # two zooms on one side never meet
            fw, fh = fw * 0.48 / fh, 0.48

        def overlap(corner):
            rx, ry = corner
            x0 = rx * (1 - fw) * W
            y_top = (1 - (ry * (1 - fh) + fh)) * H  # image rows grow downwards
            area = 0.0
            for cx, cy, cw, ch in crops:
                ox = max(0.0, min(x0 + fw * W, cx + cw) - max(x0, cx))
                oy = max(0.0, min(y_top + fh * H, cy + ch) - max(y_top, cy))
                area += ox * oy
            return area, ry

        corner = min(free, key=overlap)
        free.remove(corner)
        out.append((corner[0] * (1 - fw), corner[1] * (1 - fh), fw, fh))
        if not free:
            break
    return out


# -- figures (pure) ---------------------------------------------------------------------------
def _empty(fig, message: str):
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True)
    return fig


def _title(metric: str, direction: str | None, dataset: str | None, note: str = "") -> str:
    head = direction_label(metric, direction) + (f" · {dataset}" if dataset else "")
    return head + (f"\n{note}" if note else "")


def _headline(fig, text: str) -> None:
    """Left-aligned figure title, wrapped to the figure width (constrained layout keeps it
    clear of the axes)."""
    width = fig.get_figwidth()
    fig.suptitle(wrap_title(text, width - 0.1), x=0.01, ha="left", fontsize=8)


@styled
def sorted_curves_figure(values: pd.DataFrame, metric: str, direction: str | None,
                         order: Sequence[str], *, dataset: str | None = None,
                         note: str = "") -> "Figure":
    """Per-image values of one metric sorted ascending, one line per method (x = image rank);
    legend 'method (mean)'. values: columns method, value (one dataset, one metric)."""
    styles = method_styles(list(order))  # from the full order: same look in every figure
    order = [m for m in order if m in set(values["method"])]
    labels = []
    for m in order:
        v = values.loc[values["method"] == m, "value"].to_numpy(float)
        labels.append(f"{m} ({format_value(float(v.mean()))})")
    ncol = legend_columns(labels, COLUMN_IN)
    rows = math.ceil(len(labels) / ncol) if labels else 0
    fig = new_figure(COLUMN_IN, 2.0 + 0.15 * rows + 0.12 * note.count("\n"))
    if values.empty:
        return _empty(fig, f"{metric}: no values")
    ax = fig.add_subplot()
    for m, label in zip(order, labels):
        v = np.sort(values.loc[values["method"] == m, "value"].to_numpy(float))
        st = styles[m]
        x = np.arange(1, v.size + 1)
        ax.plot(x, v, color=st.colour, linestyle=st.linestyle, marker=st.marker,
                markevery=1 if v.size <= 10 else max(1, v.size // 5), label=label)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("image rank (sorted by value, ascending)")
    ax.set_ylabel(direction_label(metric, direction))
    ax.grid(True)
    _headline(fig, _title(metric, direction, dataset, note))
    if labels:
        fig.legend(loc="outside lower center", ncol=ncol, title="method (mean)",
                   handlelength=2.2, columnspacing=1.0)
    return fig


@styled
def box_figure(values: pd.DataFrame, metric: str, direction: str | None, order: Sequence[str],
               *, dataset: str | None = None, note: str = "") -> "Figure":
    """Horizontal box plot of one metric per method (rows in `order`, whiskers 1.5 IQR, white
    diamond = mean, dots = images when few). values: columns method, value."""
    present = set(values["method"])
    styles = method_styles(list(order))  # from the full order: same look in every figure
    order = [m for m in order if m in present]
    fig = new_figure(COLUMN_IN, 0.75 + 0.17 * max(len(order), 3) + 0.12 * note.count("\n"))
    if values.empty:
        return _empty(fig, f"{metric}: no values")
    ax = fig.add_subplot()
    # matplotlib's own boxplot: seaborn's wrapper adds nothing here and passes a deprecated
    # argument to matplotlib 3.11
    data = [values.loc[values["method"] == m, "value"].to_numpy(float) for m in order]
    pos = np.arange(len(order))
    parts = ax.boxplot(data, positions=pos, orientation="horizontal", widths=0.6,
                       patch_artist=True, showmeans=True, whis=1.5,
                       medianprops={"color": "black", "linewidth": 0.8},
                       meanprops={"marker": "D", "markerfacecolor": "white",
                                  "markeredgecolor": "black", "markersize": 2.5,
                                  "markeredgewidth": 0.5},
                       flierprops={"marker": "o", "markersize": 1.5, "markerfacecolor": "none",
                                   "markeredgewidth": 0.4},
                       whiskerprops={"linewidth": 0.6}, capprops={"linewidth": 0.6},
                       boxprops={"linewidth": 0.6})
    for box, m in zip(parts["boxes"], order):
        box.set_facecolor(styles[m].colour)
        box.set_alpha(0.8)
    if max(len(d) for d in data) <= 30:  # few images: show each one
        rng = np.random.default_rng(0)
        for i, d in enumerate(data):
            ax.scatter(d, i + rng.uniform(-0.15, 0.15, d.size), s=1.5, color="black",
                       alpha=0.6, linewidths=0, zorder=3)
    ax.set_yticks(pos, order)
    ax.set_ylim(len(order) - 0.5, -0.5)  # first method on top
    ax.set_ylabel("")
    ax.set_xlabel(direction_label(metric, direction))
    ax.grid(True, axis="x")
    _headline(fig, _title(metric, direction, dataset, note))
    return fig


@styled
def rank_heatmap_figure(ranks: pd.DataFrame, *, dataset: str | None = None,
                        directions: dict[str, str] | None = None, note: str = "") -> "Figure":
    """Methods (rows, given order) x metrics heat-map of ranks (1 = best), annotated, with a
    last column 'mean' = mean rank over the ranked metrics."""
    import seaborn as sns
    n_methods, n_metrics = ranks.shape
    width = min(DOUBLE_COLUMN_IN, max(COLUMN_IN, 1.6 + 0.33 * (n_metrics + 1)))
    longest = max([len(str(c)) for c in ranks.columns] + [4])
    fig = new_figure(width, 0.55 + 0.07 * longest + 0.17 * max(n_methods, 2)
                     + 0.12 * note.count("\n"))
    if n_methods == 0 or n_metrics == 0:
        return _empty(fig, "no ranked metrics (a metric needs values and a direction)")
    table = ranks.copy()
    table["mean"] = ranks.mean(axis=1, skipna=True)
    labels = table.map(lambda r: "" if pd.isna(r) else
                       (f"{r:.0f}" if float(r).is_integer() else f"{r:.1f}"))
    base = {c: c.split(" (")[0] for c in ranks.columns}
    table.columns = [direction_label(c, (directions or {}).get(base.get(c, c)))
                     if c != "mean" else "mean" for c in table.columns]
    ax = fig.add_subplot()
    sns.heatmap(table, annot=labels.to_numpy(), fmt="", cmap="viridis_r", vmin=1,
                vmax=max(n_methods, 2), linewidths=0.4, linecolor="white", ax=ax,
                annot_kws={"fontsize": 7}, cbar_kws={"label": "rank", "shrink": 0.8,
                                                     "pad": 0.02})
    ax.axvline(n_metrics, color="white", linewidth=2.0)  # set the mean column apart
    ax.set_xticks(np.arange(n_metrics + 1) + 0.5, table.columns, rotation=90)
    ax.set_yticks(np.arange(n_methods) + 0.5, table.index, rotation=0)
    ax.tick_params(length=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    _headline(fig, "ranks" + (f" · {dataset}" if dataset else "")
              + "\nof the mean over images; 1 = best, ties averaged"
              + (f"\n{note}" if note else ""))
    return fig


@styled
def efficiency_figure(table: pd.DataFrame, metric: str, direction: str | None,
                      order: Sequence[str], *, dataset: str | None = None,
                      note: str = "") -> "Figure":
    """Latency (x, ms; log scale when it spans > 20x) vs mean `metric` (y), one marker per
    method; marker area ~ params when every method has a 'params' value.
    table: efficiency_table() output."""
    styles = method_styles(list(order))  # from the full order: same look in every figure
    order = [m for m in order if m in set(table["method"])]
    sized = bool(len(table)) and bool(np.isfinite(table["params"]).all())
    labels = [m + (f" ({_si(float(table.loc[table['method'] == m, 'params'].iloc[0]))})"
                   if sized else "") for m in order]
    ncol = legend_columns(labels, COLUMN_IN)
    rows = math.ceil(len(labels) / ncol) if labels else 0
    fig = new_figure(COLUMN_IN, 2.2 + 0.15 * rows + 0.12 * note.count("\n"))
    if table.empty:
        return _empty(fig, f"{metric}: no method has both a latency and a value")
    ax = fig.add_subplot()
    pmax = float(table["params"].max()) if sized else 1.0
    for m, label in zip(order, labels):
        row = table[table["method"] == m].iloc[0]
        area = 15.0 + 185.0 * math.sqrt(row["params"] / pmax) if sized and pmax > 0 else 22.0
        st = styles[m]
        ax.scatter([row["latency_ms"]], [row["score"]], s=area, color=st.colour,
                   marker=st.marker, edgecolors="black", linewidths=0.4, alpha=0.85,
                   label=label, zorder=3)
    lat = table["latency_ms"]
    if lat.max() / lat.min() > 20:
        ax.set_xscale("log")
    sources = set(table["source"])
    src = ("latency_ms records" if sources == {LATENCY} else
           "mean fusion time per image" if sources == {FUSE} else
           "latency_ms records, else mean fusion time")
    ax.set_xlabel(f"latency, ms ({src})")
    ax.set_ylabel(direction_label(metric, direction))
    ax.grid(True)
    size_note = "marker area ∝ params" if sized else "no params records: markers not sized"
    _headline(fig, f"{direction_label(metric, direction)} vs latency"
              + (f" · {dataset}" if dataset else "") + f"\n{size_note}"
              + (f"\n{note}" if note else ""))
    fig.legend(loc="outside lower center", ncol=ncol, markerscale=0.6,
               title="method (params)" if sized else "method", columnspacing=1.0)
    return fig


def _fit(label: str, width_in: float) -> str:
    """`label`, cut with '…' to fit one 7 pt line of `width_in`."""
    from ._style import text_width_pt
    if text_width_pt(label) <= width_in * 72.0:
        return label
    while len(label) > 1 and text_width_pt(label + "…") > width_in * 72.0:
        label = label[:-1]
    return label + "…"


def _si(v: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


@styled
def qualitative_figure(sources: Sequence[tuple[str, np.ndarray]],
                       outputs: Sequence[tuple[str, np.ndarray]], crops: Sequence[Crop],
                       *, title: str | None = None, ncols: int | None = None) -> "Figure":
    """Grid of the sources then each method's output (row-major, `ncols` default <= 4), each
    with the crop boxes drawn (1st red, 2nd blue) and the zoomed crops in corners."""
    from matplotlib.patches import Rectangle
    panels = list(sources) + list(outputs)
    if not panels:
        return _empty(new_figure(COLUMN_IN, 1.0), "no images")
    H, W = panels[0][1].shape[:2]
    ncols = ncols or min(len(panels), 4 if W >= H else 5)
    nrows = math.ceil(len(panels) / ncols)
    panel_w = COLUMN_IN / ncols
    height = nrows * (panel_w * H / W + 0.16) + (0.15 if title else 0.0)
    fig = new_figure(COLUMN_IN, height)
    fig.set_layout_engine("constrained", w_pad=0.01, h_pad=0.01, wspace=0.01, hspace=0.01)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    corners = _inset_corners(crops, (H, W), 0.38) if crops else []
    for ax, (label, img) in zip(axes, panels):
        img = np.clip(np.asarray(img, dtype=float), 0.0, 1.0)
        grey = img.ndim == 2
        show = dict(cmap="gray", vmin=0.0, vmax=1.0) if grey else {}
        ax.imshow(img, interpolation="antialiased", **show)
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_title(_fit(label, panel_w - 0.04), fontsize=7, pad=2)
        for k, ((x, y, w, h), box) in enumerate(zip(crops, corners)):
            colour = INSET_COLOURS[k % len(INSET_COLOURS)]
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor=colour,
                                   linewidth=0.8))
            zoom = ax.inset_axes(box)
            zoom.imshow(img[y:y + h, x:x + w], interpolation="nearest", **show)
            zoom.set_xticks([])
            zoom.set_yticks([])
            for s in zoom.spines.values():
                s.set_edgecolor(colour)
                s.set_linewidth(1.0)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(wrap_title(title, COLUMN_IN - 0.1, 7.0), fontsize=7)
    return fig


# -- finding images of a run ------------------------------------------------------------------
@contextmanager
def _run_cache(run_dir: Path) -> Iterator[None]:
    """Reopen datasets with the cache the run used (runs/<id>/.. /cache) so embedded sets are
    found where the run materialised them, not regenerated elsewhere."""
    cache = Path(run_dir).parent / "cache"
    if os.environ.get("FUSEBENCH_CACHE") or not (cache / "embedded").is_dir():
        yield
        return
    os.environ["FUSEBENCH_CACHE"] = str(cache)
    try:
        yield
    finally:
        os.environ.pop("FUSEBENCH_CACHE", None)


def source_files(run_dir: Path, dataset: str, sample: str) -> list[tuple[str, Path]]:
    """(modality, path) of one sample's sources, by reopening the run's dataset specs from
    runs/<id>/manifest.json. [] when the manifest or the dataset cannot be opened."""
    from ..datasets import open_datasets
    manifest = Path(run_dir) / "manifest.json"
    try:
        specs = json.loads(manifest.read_text())["config"]["datasets"]
    except (OSError, KeyError, ValueError):
        return []
    with _run_cache(Path(run_dir)):
        for spec in specs:
            try:
                opened = open_datasets(spec)
            except Exception:  # a dataset gone since the run: the grid shows outputs only
                continue
            for ds in opened:
                if ds.name != dataset:
                    continue
                for s in ds.samples:
                    if s.id == sample:
                        return list(zip(s.modalities, s.sources))
    return []


def fused_file(run_dir: Path, dataset: str, method: str, sample: str) -> Path | None:
    """runs/<id>/fused/<dataset>/<method>/<sample>.<ext> (any image extension), or None."""
    from ..cache import safe_name
    from ..imageio import is_image_name
    target = Path(run_dir) / "fused" / safe_name(dataset) / safe_name(method) / sample
    if not target.parent.is_dir():
        return None
    hits = sorted(p for p in target.parent.iterdir()
                  if p.stem == target.name and is_image_name(p))
    return hits[0] if hits else None


def _read01(path: Path) -> np.ndarray:
    from ..imageio import read_image
    return read_image(path).to_float01()


# -- writer -----------------------------------------------------------------------------------
def _save(fig, out_dir: Path, stem: str, formats: Sequence[str], dpi: int) -> list[Path]:
    import matplotlib
    out = []
    with matplotlib.rc_context(_style.RC):  # fonttype 42, tight bbox
        for ext in formats:
            path = out_dir / f"{stem}.{ext}"
            fig.savefig(path, dpi=dpi)
            out.append(path)
    return out


def _file_part(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return keep.strip("_.") or "_"


def write_figures(records: pd.DataFrame, out_dir: Path, *, run_dir: Path | None = None,
                  directions: dict[str, str], metrics: list[str] | None = None,
                  methods: list[str] | None = None, efficiency_metric: str | None = None,
                  sample: str | None = None, crop: Crop | None = None, insets: int = 2,
                  formats: Sequence[str] = ("png", "pdf"), dpi: int = 200) -> list[Path]:
    """Write every figure of the records, per dataset, into `out_dir`; return the files.

    metrics: which metrics (and their order); default every score metric, by name.
    methods: preferred method order (the rest follow by name).
    efficiency_metric: y of the efficiency scatter (default the first ranked metric).
    sample / crop: the qualitative grid's sample (default the first one every method fused)
    and inset (x, y, w, h); default the `insets` windows where outputs differ most. The grid
    needs `run_dir` (fused images and the manifest that names the sources).
    """
    out_dir = Path(out_dir)
    written: list[Path] = []
    if records is None or records.empty:
        return written
    out_dir.mkdir(parents=True, exist_ok=True)
    values, excluded = metric_values(records, metrics)
    order = method_order(records.loc[~records["method"].isin(["-", ""]), "method"], methods)
    for dataset in sorted(records["dataset"].unique()):
        part = values[values["dataset"] == dataset]
        miss = excluded[excluded["dataset"] == dataset]
        ds_order = [m for m in order if m in set(records.loc[records["dataset"] == dataset,
                                                             "method"])]
        ds_file = _file_part(dataset)
        names = list(dict.fromkeys(part["metric"]))
        if metrics is not None:
            rank_of = {m: i for i, m in enumerate(metrics)}
            names.sort(key=lambda n: (rank_of.get(n.split(" (")[0], len(rank_of)), n))
        else:
            names.sort(key=lambda n: (n.lower(), n))
        fuse_note = _fusion_failures(records[records["dataset"] == dataset])
        for name in names:
            vals = part[part["metric"] == name]
            direction = directions.get(vals["base"].iloc[0])
            note = "\n".join(filter(None, [excluded_note(miss[miss["metric"] == name]),
                                           fuse_note]))
            for kind, fn in (("sorted", sorted_curves_figure), ("box", box_figure)):
                # the global order: a method has one look in every figure and dataset
                fig = fn(vals, name, direction, order, dataset=dataset, note=note)
                written += _save(fig, out_dir, f"{ds_file}-{kind}-{_file_part(name)}", formats,
                                 dpi)
        ranks = rank_table(part, directions, ds_order)
        ranks = ranks[[n for n in names if n in ranks.columns]]
        if ranks.shape[1]:
            unranked = [n for n in names if n not in ranks.columns]
            note = ("not ranked (no direction): " + ", ".join(unranked)) if unranked else ""
            fig = rank_heatmap_figure(ranks, dataset=dataset, directions=directions,
                                      note="\n".join(textwrap.wrap(note, 70)))
            written += _save(fig, out_dir, f"{ds_file}-ranks", formats, dpi)
        chosen = efficiency_metric or next((n for n in names if n in ranks.columns),
                                           names[0] if names else None)
        if chosen is not None:
            base = part.loc[part["metric"] == chosen, "base"]
            base_name = base.iloc[0] if len(base) else chosen
            ds_rec = records[records["dataset"] == dataset].copy()
            ds_rec.loc[ds_rec["metric"] == base_name, "metric"] = chosen
            table = efficiency_table(ds_rec, chosen, ds_order)
            dropped = [m for m in ds_order if m not in set(table["method"])]
            note = ("no latency or value: " + ", ".join(dropped)) if dropped else ""
            if len(table):
                fig = efficiency_figure(table, chosen, directions.get(base_name), order,
                                        dataset=dataset, note="\n".join(textwrap.wrap(note, 70)))
                written += _save(fig, out_dir, f"{ds_file}-efficiency-{_file_part(chosen)}",
                                 formats, dpi)
        if run_dir is not None:
            grid = _qualitative_for(records[records["dataset"] == dataset], Path(run_dir),
                                    dataset, ds_order, sample, crop, insets)
            if grid is not None:
                fig, sample_id = grid
                written += _save(fig, out_dir, f"{ds_file}-qualitative-{_file_part(sample_id)}",
                                 formats, dpi)
    return written


def _fusion_failures(records: pd.DataFrame, width: int = 60) -> str:
    """'fusion failed (no scores): a 2, b 1' for one dataset's failed 'fuse' records."""
    failed = records[(records["metric"] == FUSE) & (records["status"] == "failed")]
    if failed.empty:
        return ""
    counts = failed.groupby("method").size()
    text = "fusion failed (no scores): " + ", ".join(f"{m} {n}" for m, n in counts.items())
    return "\n".join(textwrap.wrap(text, width))


def _qualitative_for(records: pd.DataFrame, run_dir: Path, dataset: str, order: list[str],
                     sample: str | None, crop: Crop | None, insets: int):
    """-> (figure, sample id) or None when no fused image of the dataset is found."""
    fused = records[(records["metric"] == FUSE) & (records["status"] == "ok")]
    if fused.empty:
        return None
    if sample is None:
        counts = fused.groupby("sample")["method"].nunique()
        complete = sorted(counts[counts == counts.max()].index)
        sample = complete[0]
    outputs = []
    for m in order:
        path = fused_file(run_dir, dataset, m, sample)
        if path is not None:
            outputs.append((m, _read01(path)))
    if not outputs:
        return None
    shape = outputs[0][1].shape[:2]
    outputs = [(m, img) for m, img in outputs if img.shape[:2] == shape]
    sources = [(mod, _read01(p)) for mod, p in source_files(run_dir, dataset, sample)]
    sources = [(mod, img) for mod, img in sources if img.shape[:2] == shape]
    crops = [clamp_crop(crop, shape)] if crop is not None else \
        pick_insets([img for _, img in outputs], n=insets)
    title = f"{dataset} · {sample}" + ("" if sources else " (sources not found)")
    return qualitative_figure(sources, outputs, crops, title=title), sample


__all__ = ["metric_values", "rank_table", "efficiency_table", "pick_insets", "clamp_crop",
           "sorted_curves_figure", "box_figure", "rank_heatmap_figure", "efficiency_figure",
           "qualitative_figure", "source_files", "fused_file", "write_figures"]
