"""Report figures: every kind written as PNG and PDF, ranks and directions, the automatic inset,
failed/NaN handling, legibility with 30 methods, and figures of a real tiny run."""
from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report import _style
from bench.report.figures import (box_figure, efficiency_figure, efficiency_table, fused_file,
                                  metric_values, pick_insets, qualitative_figure,
                                  rank_heatmap_figure, rank_table, sorted_curves_figure,
                                  source_files, write_figures)
from bench.store import COLUMNS
from tests.fixtures import make_pairs, pairs_spec, save, smooth_image

DIRECTIONS = {"EN": "higher", "Qabf": "higher", "Nabf": "lower", "C": "higher"}


def rec(method, sample, metric, value, status="ok", dataset="toy", seconds=None, profile="default"):
    return dict(run_id="r", dataset=dataset, split="all", method=method, sample=sample,
                metric=metric, value=value, profile=profile, status=status,
                reason="" if status == "ok" else "boom", seconds=seconds)


def synthetic(methods=("avg", "max", "dl"), n=6, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, m in enumerate(methods):
        for s in range(n):
            sid = f"s{s}"
            rows.append(rec(m, sid, "fuse", None, seconds=0.01 * (i + 1)))
            rows.append(rec(m, sid, "EN", 6 + i + rng.normal(0, 0.2)))
            rows.append(rec(m, sid, "Nabf", 0.01 * (i + 1) + rng.normal(0, 0.001)))
            rows.append(rec(m, sid, "C", 1.0))  # constant metric
    return pd.DataFrame(rows, columns=COLUMNS)


def fake_run_dir(tmp_path: Path, methods, dataset="toy", sample="s0", shape=(48, 64)) -> Path:
    run_dir = tmp_path / "runs" / "run-x"
    for i, m in enumerate(methods):
        save(run_dir / "fused" / dataset / m / f"{sample}.png", smooth_image(i, shape))
    (run_dir / "manifest.json").write_text(json.dumps({"config": {"datasets": []}}))
    return run_dir


def is_png(p: Path) -> bool:
    return p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def is_pdf(p: Path) -> bool:
    return p.read_bytes()[:5] == b"%PDF-"


# -- files -------------------------------------------------------------------------------------
def test_every_kind_written_as_png_and_pdf(tmp_path):
    records = synthetic()
    run_dir = fake_run_dir(tmp_path, ["avg", "max", "dl"])
    paths = write_figures(records, tmp_path / "fig", run_dir=run_dir, directions=DIRECTIONS,
                          metrics=["Nabf", "EN"])
    names = {p.name for p in paths}
    assert len(names) == 14
    for stem in ["toy-sorted-EN", "toy-box-EN", "toy-sorted-Nabf", "toy-box-Nabf", "toy-ranks",
                 "toy-efficiency-Nabf", "toy-qualitative-s0"]:
        assert f"{stem}.png" in names and f"{stem}.pdf" in names, stem
    for p in paths:
        assert p.exists() and (is_png(p) if p.suffix == ".png" else is_pdf(p)), p
    # PNG at 200 dpi on a 3.5 in column: about 700 px wide
    import cv2
    img = cv2.imread(str(tmp_path / "fig" / "toy-box-EN.png"))
    assert 600 <= img.shape[1] <= 720


def test_metrics_option_selects_and_orders(tmp_path):
    paths = write_figures(synthetic(), tmp_path, directions=DIRECTIONS, metrics=["Nabf"],
                          efficiency_metric="Nabf", formats=("png",), dpi=72)
    names = sorted(p.stem for p in paths if p.suffix == ".png")
    assert names == ["toy-box-Nabf", "toy-efficiency-Nabf", "toy-ranks", "toy-sorted-Nabf"]


def test_empty_records_write_nothing(tmp_path):
    assert write_figures(pd.DataFrame(columns=COLUMNS), tmp_path / "f", directions={}) == []
    assert not (tmp_path / "f").exists()
    fig = sorted_curves_figure(pd.DataFrame(columns=["method", "value"]), "EN", "higher", [])
    assert "no values" in fig.axes[0].texts[0].get_text()


def test_one_method_and_constant_metric(tmp_path):
    records = synthetic(methods=("solo",))
    paths = write_figures(records, tmp_path, directions=DIRECTIONS,
                          run_dir=fake_run_dir(tmp_path, ["solo"]), formats=("png",), dpi=72)
    assert {p.stem for p in paths} >= {"toy-box-C", "toy-ranks", "toy-qualitative-s0"}
    values, _ = metric_values(records)
    ranks = rank_table(values, DIRECTIONS, ["solo"])
    assert (ranks.loc["solo"] == 1.0).all()


# -- data: failures, ranks, directions -----------------------------------------------------------
def test_failed_and_nan_values_are_excluded_and_noted():
    records = synthetic()
    records.loc[(records["method"] == "max") & (records["sample"] == "s1")
                & (records["metric"] == "EN"), ["status", "value"]] = ["failed", None]
    records.loc[(records["method"] == "dl") & (records["sample"] == "s2")
                & (records["metric"] == "EN"), "value"] = np.nan
    records.loc[(records["method"] == "dl") & (records["sample"] == "s3")
                & (records["metric"] == "EN"), "value"] = np.inf
    values, excluded = metric_values(records)
    en = values[values["metric"] == "EN"]
    assert en.groupby("method").size().to_dict() == {"avg": 6, "dl": 4, "max": 5}
    assert set(values["metric"]) == {"EN", "Nabf", "C"}  # fuse is not a score
    assert excluded.set_index("method")["n"].to_dict() == {"dl": 2, "max": 1}
    fig = sorted_curves_figure(en, "EN", "higher", ["avg", "max", "dl"],
                               note="left out (failed/NaN): dl 2, max 1")
    assert "dl 2, max 1" in fig._suptitle.get_text()
    # the mean in the legend is over the kept values only
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    kept = en.loc[en["method"] == "dl", "value"].mean()
    assert f"dl ({_style.format_value(kept)})" in legend


def test_a_method_keeps_its_look_when_another_has_no_values(tmp_path):
    values, _ = metric_values(synthetic())
    en = values[(values["metric"] == "EN") & (values["method"] != "max")]
    order = ["avg", "max", "dl"]
    fig = sorted_curves_figure(en, "EN", "higher", order)
    colours = {line.get_label().split(" (")[0]: line.get_color() for line in fig.axes[0].lines}
    assert colours == {"avg": _style.OKABE_ITO[0], "dl": _style.OKABE_ITO[2]}
    box = box_figure(en, "EN", "higher", order)
    assert [t.get_text() for t in box.axes[0].get_yticklabels()] == ["avg", "dl"]
    from matplotlib.colors import to_hex
    assert [to_hex(p.get_facecolor(), keep_alpha=False) for p in box.axes[0].patches] == \
        [_style.OKABE_ITO[0].lower(), _style.OKABE_ITO[2].lower()]


def test_failed_fusions_are_noted_in_the_figures(tmp_path, monkeypatch):
    records = synthetic()
    gone = (records["method"] == "dl") & (records["sample"] == "s5")
    records = records[~gone | (records["metric"] == "fuse")].copy()
    records.loc[gone & (records["metric"] == "fuse"), "status"] = "failed"
    from bench.report import figures
    seen = []
    original = figures.sorted_curves_figure
    monkeypatch.setattr(figures, "sorted_curves_figure",
                        lambda *a, **k: seen.append(k["note"]) or original(*a, **k))
    write_figures(records, tmp_path, directions=DIRECTIONS, metrics=["EN"], formats=("png",),
                  dpi=50)
    assert seen == ["fusion failed (no scores): dl 1"]


def test_rank_ties_averaged_and_direction():
    rows = []
    for m, a, b, c in [("p", 3.0, 0.1, 5.0), ("q", 3.0, 0.5, 4.0), ("r", 1.0, 0.5, 3.0)]:
        rows += [rec(m, "s0", "EN", a), rec(m, "s0", "Nabf", b), rec(m, "s0", "X", c)]
    values, _ = metric_values(pd.DataFrame(rows, columns=COLUMNS))
    ranks = rank_table(values, DIRECTIONS, ["r", "q", "p"])
    assert list(ranks.index) == ["r", "q", "p"]  # given order kept
    assert "X" not in ranks.columns  # no direction: not ranked
    assert ranks["EN"].to_dict() == {"r": 3.0, "q": 1.5, "p": 1.5}  # higher better, tie
    assert ranks["Nabf"].to_dict() == {"r": 2.5, "q": 2.5, "p": 1.0}  # lower better, tie
    fig = rank_heatmap_figure(ranks, directions=DIRECTIONS)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("1.5") == 2 and texts.count("2.5") == 2
    assert "Nabf ↓" in [t.get_text() for t in fig.axes[0].get_xticklabels()]
    # mean rank column: p = (1.5 + 1) / 2
    assert "1.2" in texts or "1.25" in texts


def test_several_profiles_are_kept_apart():
    rows = [rec("a", "s0", "EN", 1.0, profile="vifb"), rec("a", "s0", "EN", 2.0, profile="mfif")]
    values, _ = metric_values(pd.DataFrame(rows, columns=COLUMNS))
    assert sorted(values["metric"]) == ["EN (mfif)", "EN (vifb)"]
    assert set(values["base"]) == {"EN"}


def test_efficiency_prefers_latency_and_sizes_by_params():
    records = synthetic(methods=("a", "b"))
    extra = [rec("a", "*", "latency_ms", 5.0), rec("a", "*", "params", 1e6),
             rec("b", "*", "params", 4e6)]
    records = pd.concat([records, pd.DataFrame(extra, columns=COLUMNS)], ignore_index=True)
    table = efficiency_table(records, "EN", ["a", "b"]).set_index("method")
    assert table.loc["a", "latency_ms"] == 5.0 and table.loc["a", "source"] == "latency_ms"
    assert table.loc["b", "latency_ms"] == pytest.approx(20.0)  # 0.02 s fuse -> 20 ms
    fig = efficiency_figure(table.reset_index(), "EN", "higher", ["a", "b"])
    sizes = [c.get_sizes()[0] for c in fig.axes[0].collections]
    assert sizes[1] > sizes[0]  # 4M params drawn bigger than 1M
    assert "marker area ∝ params" in fig._suptitle.get_text()
    no_params = efficiency_table(synthetic(methods=("a", "b")), "EN", ["a", "b"])
    fig = efficiency_figure(no_params, "EN", "higher", ["a", "b"])
    assert "no params records" in fig._suptitle.get_text()


# -- automatic inset ----------------------------------------------------------------------------
def test_inset_picks_where_two_outputs_differ():
    rng = np.random.default_rng(1)
    a = rng.random((90, 120)) * 0.3
    b = a.copy()
    b[50:62, 80:96] += 0.6  # the outputs differ only here (x 80..95, y 50..61)
    b[10:14, 10:14] += 0.2  # and a little here
    crops = pick_insets([a, b], n=2, size=(16, 12))
    assert crops[0] == (80, 50, 16, 12)
    x, y, w, h = crops[1]
    assert x <= 10 and x + w >= 14 and y <= 10 and y + h >= 14  # second: the small difference
    # RGB outputs: the same place
    rgb = [np.repeat(a[..., None], 3, 2), np.repeat(b[..., None], 3, 2)]
    assert pick_insets(rgb, n=1, size=(16, 12)) == [(80, 50, 16, 12)]


def test_inset_prefers_differing_structure_to_a_flat_brightness_offset():
    rng = np.random.default_rng(3)
    base = rng.random((80, 80)) * 0.05
    a, b = base.copy(), base.copy()
    b[40:80, 0:40] += 0.15  # a large flat area one output draws brighter
    a[8:20, 50:62] = np.indices((12, 12)).sum(0) % 2  # texture only one output keeps
    (x, y, w, h), = pick_insets([a, b], n=1, size=(16, 16))
    assert 46 <= x <= 50 and 4 <= y <= 8  # the window holds the whole textured patch
    single = pick_insets([a], n=1, size=(16, 16))[0]  # one output: where its detail is
    assert 46 <= single[0] <= 50 and 4 <= single[1] <= 8


def test_inset_of_identical_outputs_is_centred_and_windows_never_overlap():
    img = np.full((40, 60), 0.5)
    assert pick_insets([img, img.copy()], n=2, size=(10, 10)) == [(25, 15, 10, 10)]
    rng = np.random.default_rng(2)
    crops = pick_insets([rng.random((96, 96)) for _ in range(3)], n=2)
    (x1, y1, w1, h1), (x2, y2, w2, h2) = crops
    assert (w1, h1) == (w2, h2) == (19, 19)  # default: 1/5 of the shorter side
    # a gap of at least one window between the two
    assert x1 + 2 * w1 <= x2 or x2 + 2 * w2 <= x1 or y1 + 2 * h1 <= y2 or y2 + 2 * h2 <= y1
    with pytest.raises(ValueError, match="differ in size"):
        pick_insets([np.zeros((4, 4)), np.zeros((5, 4))])


def test_user_crop_is_used(tmp_path):
    run_dir = fake_run_dir(tmp_path, ["avg", "max"])
    paths = write_figures(synthetic(methods=("avg", "max")), tmp_path / "f", run_dir=run_dir,
                          directions=DIRECTIONS, crop=(4, 6, 20, 10), metrics=["EN"],
                          formats=("png",), dpi=72)
    assert any(p.name == "toy-qualitative-s0.png" for p in paths)
    fig = qualitative_figure([], [("avg", np.zeros((48, 64)))], [(4, 6, 20, 10)])
    rect = fig.axes[0].patches[0]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (3.5, 5.5, 20, 10)
    zoom = fig.axes[0].child_axes[0].images[0].get_array()
    assert zoom.shape == (10, 20)


# -- style: stable order, distinct looks, legibility ---------------------------------------------
def test_method_order_and_styles_are_stable():
    names = [f"m{i}" for i in range(30)]
    shuffled = list(np.random.default_rng(0).permutation(names))
    order = _style.method_order(shuffled)
    assert order[:3] == ["m0", "m1", "m2"] and order[10] == "m10"  # natural order
    assert _style.method_order(shuffled, preferred=["m7"])[0] == "m7"
    looks = _style.method_styles(order)
    assert len({(s.colour, s.marker, s.linestyle) for s in looks.values()}) == 30
    assert looks == _style.method_styles(_style.method_order(reversed(shuffled)))


def _no_overlap(texts, renderer) -> bool:
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_text()]
    return all(not a.overlaps(b) for a, b in combinations(boxes, 2))


def _min_font(fig) -> float:
    from matplotlib.text import Text
    return min(t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible())


def test_thirty_methods_stay_legible():
    methods = [f"method_{i:02d}" if i % 4 else f"a_much_longer_name_{i}" for i in range(30)]
    records = synthetic(methods=methods, n=3)
    values, _ = metric_values(records)
    en = values[values["metric"] == "EN"]
    order = _style.method_order(methods)
    figs = {
        "box": box_figure(en, "EN", "higher", order),
        "sorted": sorted_curves_figure(en, "EN", "higher", order),
        "ranks": rank_heatmap_figure(rank_table(values, DIRECTIONS, order),
                                     directions=DIRECTIONS),
        "efficiency": efficiency_figure(efficiency_table(records, "EN", order), "EN", "higher",
                                        order),
    }
    for kind, fig in figs.items():
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        assert _min_font(fig) >= _style.MIN_FONT_PT, kind
        assert fig.get_figwidth() == pytest.approx(_style.COLUMN_IN), kind
        whole = fig.bbox
        for ax in fig.axes:
            assert _no_overlap(ax.get_yticklabels(), r), kind
            assert _no_overlap(ax.get_xticklabels(), r), kind
        for leg in fig.legends:
            assert _no_overlap(leg.get_texts(), r), kind
            box = leg.get_window_extent(r)
            assert box.x0 >= whole.x0 - 1 and box.x1 <= whole.x1 + 1, kind
        if kind in ("box", "ranks"):
            assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == order, kind
    grid = qualitative_figure([("ir", np.zeros((30, 40))), ("vis", np.ones((30, 40, 3)))],
                              [(m, np.full((30, 40), 0.5)) for m in methods[:12]],
                              [(0, 0, 8, 8)])
    grid.canvas.draw()
    assert _min_font(grid) >= _style.MIN_FONT_PT
    titles = [ax.title for ax in grid.axes if ax.get_title()]
    assert len(titles) == 14 and _no_overlap(titles, grid.canvas.get_renderer())


# -- a real tiny run -------------------------------------------------------------------------------
def test_figures_of_a_real_run(tmp_path):
    import methods  # noqa: F401  (registers the methods)
    from bench import metrics  # noqa: F401  (registers the metrics and their directions)
    from bench.registry import METRICS
    from bench.runner import RunConfig, run
    from bench.store import Store
    root = make_pairs(tmp_path / "d", n=3, shape=(48, 64))
    cfg = RunConfig(methods=["average", "max"], datasets=[pairs_spec(root)], workers=0,
                    metrics=["SD", "Qabf"])
    result = run(cfg, home=tmp_path / "runs", progress=False, quiet=True)
    with Store(result.store_path) as st:
        records = st.dataframe(result.run_id)
    directions = {e.name: e.meta["direction"] for e in METRICS}
    srcs = source_files(result.run_dir, "pairs", "p00")
    assert [m for m, _ in srcs] == ["ir", "vis"] and all(p.is_file() for _, p in srcs)
    assert fused_file(result.run_dir, "pairs", "max", "p00").is_file()
    paths = write_figures(records, tmp_path / "fig", run_dir=result.run_dir,
                          directions=directions, metrics=["SD"])
    assert sorted(p.name for p in paths) == sorted(
        f"pairs-{stem}.{ext}" for stem in ["sorted-SD", "box-SD", "ranks", "efficiency-SD",
                                           "qualitative-p00"] for ext in ("png", "pdf"))
    # the heat-map ranks the records' means; SD: higher is better
    values, _ = metric_values(records)
    ranks = rank_table(values, directions, ["average", "max"])
    sd = values[values["metric"] == "SD"].groupby("method")["value"].mean()
    assert sd.nunique() == 2
    assert ranks.loc[sd.idxmax(), "SD"] == 1.0 and ranks.loc[sd.idxmin(), "SD"] == 2.0
