"""Report tables (bench.report): marks and ties, arrows, LaTeX escaping and validity, empty and
failed cells, downstream and efficiency tables, the paper CSV, --compare paper, and the VIFB
reproduction against VIFB's stored MATLAB values."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess

import pandas as pd
import pytest

import methods  # noqa: F401  (method metadata)
from bench import metrics  # noqa: F401  (metric directions)
from bench.report.compare import compare, compare_markdown, load_paper
from bench.report.latex import escape, report_latex, table_latex
from bench.report.markdown import table_markdown
from bench.report.tables import (build_report, downstream_tables, efficiency_table,
                                 fusion_tables, rank_marks)
from bench.store import COLUMNS


def rec(method, metric, value, sample="s1", dataset="msrs", profile="default", status="ok",
        reason="", seconds=None, split="test"):
    return dict(run_id="r", dataset=dataset, split=split, method=method, sample=sample,
                metric=metric, value=value, profile=profile, status=status, reason=reason,
                seconds=seconds)


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def row_of(markdown: str, method: str) -> list[str]:
    line = next(l for l in markdown.splitlines() if l.startswith(f"| {method} "))
    return [c.strip() for c in line.strip("|").split("|")]


# -- ranking -------------------------------------------------------------------------------------

def test_rank_marks_ties_and_direction():
    means = {"a": 1.0, "b": 1.0, "c": 0.5, "d": 0.5, "e": 0.1}
    assert rank_marks(means, "higher", 3) == {"a": "best", "b": "best", "c": "second",
                                              "d": "second", "e": ""}
    assert rank_marks(means, "lower", 3) == {"a": "", "b": "", "c": "second", "d": "second",
                                             "e": "best"}
    # compared as displayed: 0.1234 and 0.12341 both show 0.123
    assert rank_marks({"a": 0.1234, "b": 0.12341, "c": 0.2}, "lower", 3) == \
        {"a": "best", "b": "best", "c": "second"}
    assert rank_marks({"a": 0.1234, "b": 0.12341}, "lower", 5) == {"a": "best", "b": "second"}
    assert rank_marks({"a": 2.0, "b": 2.0}, "higher", 3) == {"a": "best", "b": "best"}
    assert rank_marks({"a": 2.0, "b": None}, "higher", 3) == {"a": "", "b": ""}
    assert rank_marks({"a": 2.0, "b": 1.0}, None, 3) == {"a": "", "b": ""}


def _fusion_records():
    rows = []
    for i, s in enumerate(("s1", "s2")):
        rows += [rec("LRRNet", "MI", 3.0 + i, sample=s),
                 rec("Fusionmamba1", "MI", 3.0 + i, sample=s),
                 rec("average", "MI", 1.0, sample=s), rec("smc", "MI", 4.0, sample=s)]
        rows += [rec("LRRNet", "Nabf", 0.05, sample=s), rec("Fusionmamba1", "Nabf", 0.02, sample=s),
                 rec("average", "Nabf", 0.02, sample=s), rec("smc", "Nabf", 0.03, sample=s)]
    for m in ("LRRNet", "Fusionmamba1", "average", "smc"):
        rows += [rec(m, "fuse", None, sample=s, profile="-", seconds=0.5) for s in ("s1", "s2")]
    return frame(rows)


def test_fusion_table_marks_arrows_groups_and_caption():
    (table,) = fusion_tables(_fusion_records())
    md = table_markdown(table)
    assert "MI ↑" in md and "Nabf ↓" in md and "†" not in md and "Failures" not in md
    assert "msrs (ivf), split test, n = 2 samples, metric profile `default`" in table.caption
    # groups: paper type for unregistered names, registry for average/smc; smc last
    assert [(r.label, r.group) for r in table.rows] == [
        ("LRRNet", "task-specific"), ("average", "general"), ("Fusionmamba1", "general"),
        ("smc", "general")]
    # MI: smc 4.0 best; LRRNet and Fusionmamba1 tie at 3.5 -> both second
    assert row_of(md, "smc")[2] == "**4.000**"
    assert row_of(md, "LRRNet")[2] == row_of(md, "Fusionmamba1")[2] == "<u>3.500</u>"
    assert row_of(md, "average")[2] == "1.000"
    # Nabf (lower): two tied best, then 0.030 second
    assert row_of(md, "average")[3] == row_of(md, "Fusionmamba1")[3] == "**0.020**"
    assert row_of(md, "smc")[3] == "<u>0.030</u>" and row_of(md, "LRRNet")[3] == "0.050"
    tex = table_latex(table)
    assert r"MI$\uparrow$" in tex and r"Nabf$\downarrow$" in tex
    assert r"smc & \textbf{4.000} & \underline{0.030} & 2 \\" in tex
    assert r"\textit{Task-specific}" in tex and r"\textit{General}" in tex


def test_std_cells_and_n():
    (table,) = fusion_tables(_fusion_records(), std=True)
    md = table_markdown(table)
    assert row_of(md, "LRRNet")[2] == "<u>3.500 ± 0.707</u>" and row_of(md, "LRRNet")[-1] == "2"
    assert "mean ± sample std" in md


def test_empty_and_failed_cells_and_failures_listed():
    rows = [rec("A", "MI", 2.0), rec("A", "MI", 4.0, sample="s2"), rec("A", "SF", 5.0),
            rec("B", "MI", None, status="failed", reason="MI: constant image"),
            rec("B", "MI", None, sample="s2", status="failed", reason="MI: constant image"),
            rec("C", "MI", 1.0), rec("C", "MI", None, sample="s2", status="failed",
                                     reason="timeout"),
            rec("D", "fuse", None, profile="-", status="failed", reason="CUDA out of memory"),
            rec("-", "load", None, sample="bad.png", profile="-", status="failed",
                reason="zero-byte file")]
    report = build_report(frame(rows))
    (table,) = report.tables
    md = table_markdown(table)
    assert [c.key for c in table.columns] == ["SF", "MI"]  # the default profile's order
    assert row_of(md, "B")[2:4] == ["–", "failed"]
    assert row_of(md, "C")[3] == "<u>1.000</u>†"  # mean of its ok values, second best
    assert row_of(md, "D")[2:4] == ["–", "–"] and row_of(md, "D")[-1] == "0"
    assert row_of(md, "A")[-1] == "1-2"
    assert "**Failures (5):**" in md and "†: mean of the values that exist" in md
    assert "- `B` · MI · 2 sample(s) (s1, s2): MI: constant image" in md
    assert "CUDA out of memory" in md and "zero-byte file" in md and "timeout" in md
    assert not report.other_failures
    tex = table_latex(table)
    assert r"B & -- & \textit{failed} & 0 \\" in tex and r"\underline{1.000}$^\dagger$" in tex
    assert "CUDA out of memory" in tex
    fails = report.failures_frame()
    assert fails["count"].sum() == 5


# -- LaTeX ---------------------------------------------------------------------------------------

def test_latex_escape():
    assert escape("a_b%c&d#e$f{g}h~i^j\\k") == \
        r"a\_b\%c\&d\#e\$f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    assert escape("红外 ± café") == r"?? $\pm$ cafe"


def _check_latex_structure(tex: str) -> None:
    """Balanced braces and environments, booktabs rules, one cell per column in every row."""
    body = re.sub(r"\\[{}%&#$_]", "", tex)  # escaped characters do not count
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+\*?)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env
    assert not stack
    for spec, inner in re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", tex, re.S):
        ncols = len(spec)
        assert inner.index(r"\toprule") < inner.index(r"\midrule") < inner.index(r"\bottomrule")
        for line in inner.splitlines():
            if not line.endswith(r"\\"):
                continue
            span = re.match(r"\\multicolumn\{(\d+)\}", line)
            cells = int(span.group(1)) if span else len(re.split(r"(?<!\\)&", line))
            assert cells == ncols, line


def _awkward_report():
    rows = [rec("my_method%&#", "MI", 2.0, dataset="set_1"),
            rec("x^y~z", "MI", 1.0, dataset="set_1"),
            rec("x^y~z", "SF", None, dataset="set_1", status="failed",
                reason="50% of {pixels} $bad"),
            rec("average", "fuse", None, dataset="set_1", sample="红外_01", profile="-",
                status="failed", reason="path C:\\data\\红外 not found")]
    return build_report(frame(rows), title="run `r_1`", header=["note: 100% & more"], std=True)


def test_latex_document_is_valid_and_escaped(tmp_path):
    tex = report_latex(_awkward_report())
    assert r"my\_method\%\&\#" in tex and r"x\textasciicircum{}y\textasciitilde{}z" in tex
    assert r"50\% of \{pixels\} \$bad" in tex
    assert tex.isascii()
    _check_latex_structure(tex)
    if shutil.which("pdflatex"):
        (tmp_path / "r.tex").write_text(tex)
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "r.tex"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / "r.pdf").stat().st_size > 1000


def test_structure_check_catches_broken_latex():
    good = table_latex(_awkward_report().tables[0])
    _check_latex_structure(good)
    with pytest.raises(AssertionError):
        _check_latex_structure(good.replace(" & 1 \\\\", " & 1 & 9 \\\\", 1))
    with pytest.raises(AssertionError):
        _check_latex_structure(good.replace(r"\end{center}", ""))


# -- downstream and efficiency -------------------------------------------------------------------

def test_downstream_tables():
    proto = "deeplabv3plus-msrs"
    rows = []
    for m, car, person in (("smc", 90.0, 73.7), ("average", 88.0, 74.2)):
        rows += [rec(m, "IoU/Car", car, sample="*", profile=proto),
                 rec(m, "IoU/Person", person, sample="*", profile=proto),
                 rec(m, "IoU/Background", 98.0, sample="*", profile=proto),
                 rec(m, "mIoU", (car + person + 98.0) / 3, sample="*", profile=proto)]
    rows += [rec("max", "segment", None, sample="*", profile="-", status="failed",
                 reason="not available: needs masks")]
    rows += [rec("smc", "mAP50", 80.0, sample="*", profile="-"),
             rec("smc", "mAP50-95", 50.0, sample="*", profile="-"),
             rec("smc", "AP50/person", 85.0, sample="*", profile="-"),
             rec("average", "mAP50", 70.0, sample="*", profile="-"),
             rec("average", "AP50/person", 86.0, sample="*", profile="-")]
    tables = downstream_tables(frame(rows))
    seg = next(t for t in tables if t.kind == "segmentation" and t.profile == proto)
    assert [c.label for c in seg.columns] == ["Background", "Car", "Person", "mIoU"]
    md = table_markdown(seg)
    assert "protocol `deeplabv3plus-msrs`" in md and "Car ↑" in md
    # Background ties at 98.0: both best, no second; percentages with one decimal
    assert row_of(md, "smc")[1:5] == ["**98.0**", "**90.0**", "<u>73.7</u>", "**87.2**"]
    assert row_of(md, "average")[1:5] == ["**98.0**", "<u>88.0</u>", "**74.2**", "<u>86.7</u>"]
    failed = next(t for t in tables if t.kind == "segmentation" and t.profile == "-")
    assert "not available: needs masks" in table_markdown(failed)
    det = next(t for t in tables if t.kind == "detection")
    assert [c.key for c in det.columns] == ["mAP50", "mAP50-95", "AP50/person"]
    md = table_markdown(det)
    assert "protocol not recorded" in md
    assert row_of(md, "average")[1:4] == ["<u>70.0</u>", "–", "**86.0**"]


def test_efficiency_table_names_device_and_latency_source():
    rows = [rec("smc", "params", 149000, sample="480x640", dataset="-", profile="NVIDIA H100"),
            rec("smc", "flops", 46.105e9, sample="480x640", dataset="-", profile="NVIDIA H100"),
            rec("smc", "latency_ms", 288.5, sample="480x640", dataset="-", profile="NVIDIA H100"),
            rec("average", "fuse", None, profile="-", seconds=0.002),
            rec("average", "fuse", None, sample="s2", profile="-", seconds=0.004)]
    table = efficiency_table(frame(rows), machine="CPU: Test CPU")
    assert "NVIDIA H100" in table.caption and "fuse times on CPU: Test CPU" in table.caption
    md = table_markdown(table)
    assert row_of(md, "smc")[1:4] == ["0.149", "46.105", "288.5"]
    assert row_of(md, "average")[3] == "3.0"  # mean fuse time in ms, not ranked (mixed sources)
    assert "recorded at 480x640" in row_of(md, "smc")[-1]
    assert "fuse time, run image sizes (msrs; 2 images)" in row_of(md, "average")[-1]


# -- the paper's numbers ---------------------------------------------------------------------------

def test_paper_csv_tables():
    paper = load_paper()
    assert list(paper.columns) == ["method", "dataset", "metric", "value", "source_table", "note"]
    assert paper.groupby("source_table").size().to_dict() == {
        "Table 1": 3 * 14 * 8, "Table 2": 2 * 14 * 8, "Table 3": 17 * 8 + 6 * 3,
        "Table 4": 16 * 7}
    t1 = paper[paper["source_table"] == "Table 1"]
    assert sorted(t1["dataset"].unique()) == ["M3FD", "MSRS", "RoadScene"]
    assert set(t1["metric"]) == {"MI", "SF", "AG", "CC", "SCD", "VIF", "Qabf", "MS-SSIM"}
    def get(t, d, m, k):
        return paper[(paper["source_table"] == t) & (paper["dataset"] == d)
                     & (paper["method"] == m) & (paper["metric"] == k)]["value"].item()

    assert get("Table 1", "M3FD", "PSLPT", "MI") == 4.563
    assert get("Table 2", "MFI-WHU", "SMC-Mamba", "SF") == 35.669
    assert get("Table 2", "Lytro", "GCF", "Nabf") == 0.010
    assert get("Table 3", "MSRS", "SMC-Mamba", "params") == 149000
    assert get("Table 3", "MSRS", "SMC-Mamba", "flops") == 46.105e9
    # the spec's copy-error note on IFCNN / MFI-WHU (equal to its Lytro values)
    ifcnn = paper[(paper["method"] == "IFCNN") & (paper["dataset"] == "MFI-WHU")]
    flagged = set(ifcnn.loc[ifcnn["note"].str.contains("copy error"), "metric"])
    assert flagged == {"CC", "SCD", "VIF"}
    for k in flagged:
        assert get("Table 2", "MFI-WHU", "IFCNN", k) == get("Table 2", "Lytro", "IFCNN", k)
    # Table 4's mIoU is the mean of its six class IoUs (spec 7.1), a check on the transcription
    t4 = paper[paper["source_table"] == "Table 4"].pivot(index="method", columns="metric",
                                                         values="value")
    classes = [c for c in t4.columns if c.startswith("IoU/")]
    assert len(classes) == 6
    assert ((t4[classes].mean(axis=1) - t4["mIoU"]).abs() <= 0.05 + 1e-9).all()  # half a digit


def test_compare_with_paper_on_synthetic_records():
    rows = [rec("smc", "MI", 4.0), rec("smc", "MI", 4.2, sample="s2"),
            rec("IFCNN", "SF", 20.0, dataset="mfi-whu"), rec("nosuch", "MI", 1.0),
            rec("smc", "EN", 7.0), rec("smc", "mIoU", 80.0, sample="*", profile="deeplab")]
    report = build_report(frame(rows))
    table = compare(report.tidy(), load_paper())
    got = {(r.dataset, r.method, r.metric, r.source_table): (r.ours, r.paper, r.diff)
           for r in table.itertuples()}
    assert got[("msrs", "smc", "MI", "Table 1")] == pytest.approx((4.1, 4.490, -0.39))
    assert got[("msrs", "smc", "MI", "Table 3")] == pytest.approx((4.1, 4.490, -0.39))
    assert got[("mfi-whu", "IFCNN", "SF", "Table 2")] == pytest.approx((20.0, 26.474, -6.474))
    assert got[("msrs", "smc", "mIoU", "Table 4")] == pytest.approx((80.0, 79.3, 0.7))
    assert len(got) == 4  # nosuch and EN are not in the paper
    md = compare_markdown(table)
    assert "**msrs vs paper Table 1 (MSRS)**" in md and "-0.39" in md
    assert "No overlap" in compare_markdown(compare(report.tidy().iloc[0:0], load_paper()))


def test_cli_report_formats_and_compare(tmp_path, capsys):
    from bench.cli import main
    from bench.store import Record, Store
    home = tmp_path / "runs"
    with Store(home / "store.sqlite") as store:
        store.start_run("r", {"methods": ["smc"], "datasets": ["msrs"], "tasks": ["fusion"],
                              "profile": "default"}, {"machine": {"cpu": "Test CPU"}})
        store.add([Record(**{**r, "run_id": "r"}) for r in _fusion_records().to_dict("records")])
    out = tmp_path / "rep"
    assert main(["report", "r", "--out", str(home), "--to", str(out), "--format", "md,latex,csv",
                 "--std", "--compare", "paper"]) == 0
    printed = capsys.readouterr().out
    assert "## Compared with the paper" in printed and "3.5 ± 0.707" not in printed
    assert "<u>3.500 ± 0.707</u>" in printed
    for name in ("report.md", "report.tex", "report.csv", "report_failures.csv",
                 "compare_paper.md", "compare_paper.csv"):
        assert (out / name).is_file(), name
    cells = pd.read_csv(out / "report.csv")
    assert set(cells["table"]) == {"fusion", "efficiency"}  # fuse times give latency
    eff = cells[cells["table"] == "efficiency"]
    assert eff.loc[eff["metric"] == "latency_ms", "mean"].eq(500.0).all()
    assert eff.loc[eff["metric"] == "params", "mean"].isna().all()
    cells = cells[cells["table"] == "fusion"]
    assert set(cells["metric"]) == {"MI", "Nabf"} and len(cells) == 8
    smc_mi = (cells["method"] == "smc") & (cells["metric"] == "MI")
    assert cells.loc[smc_mi, "mark"].item() == "best"
    cmp = pd.read_csv(out / "compare_paper.csv")
    assert set(cmp["paper_method"]) == {"SMC-Mamba", "LRRNet", "Fusionmamba1"}
    _check_latex_structure((out / "report.tex").read_text())
    assert main(["report", "r", "--out", str(home), "--format", "docx"]) == 2


# -- reproduction ----------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_reproduce_vifb_two_scenes_two_methods(shared_data, tmp_path, capsys):
    from bench.cli import main
    root = shared_data / "ivf" / "VIFB"
    out = tmp_path / "vifb"
    assert main(["reproduce", "vifb", "--data", str(root), "--limit", "2", "--methods",
                 "ADF,GFF", "--workers", "2", "--out", str(out), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert "max relative deviation per metric" in printed
    check = pd.read_csv(out / "check.csv")
    assert len(check) == 2 * 2 * 13 and check["within_bar"].all()
    per_image = pd.read_csv(out / "per_image.csv")
    assert (per_image["status"] == "ok").all() and len(per_image) == 52
    # our values against the stored MATLAB values, read independently of bench.reproduce
    with open(root / "reference_metrics" / "vifb_metrics_single.csv", newline="") as fh:
        stored = {(r["scene"], r["method"], r["metric"]): float(r["value"])
                  for r in csv.DictReader(fh)}
    scenes = sorted(p.stem for p in (root / "input" / "IR").iterdir())[:2]
    assert sorted(per_image["sample"].unique()) == scenes
    for vifb_name, ours_name in (("Entropy", "EN"), ("Qabf", "Qabf"), ("Ssim", "SSIM")):
        for method in ("ADF", "GFF"):
            want = stored[(scenes[0], method, vifb_name)]
            got = per_image.loc[(per_image["sample"] == scenes[0])
                                & (per_image["method"] == method)
                                & (per_image["metric"] == ours_name), "value"].item()
            assert abs(got - want) <= max(1e-3 * abs(want), 1e-4)
    board = pd.read_csv(out / "leaderboard.csv")
    assert sorted(board["method"].unique()) == ["ADF", "GFF"] and board["n"].eq(2).all()
    assert "n = 2 samples, metric profile `vifb`" in (out / "leaderboard.md").read_text()
    _check_latex_structure((out / "leaderboard.tex").read_text())


@pytest.mark.shared_data
def test_mfif_discovery_and_missing_outputs(shared_data):
    from bench.reproduce import mfif_items
    items, failures = mfif_items(shared_data / "mff" / "MFIF_benchmark", limit=2, methods=["GCF"])
    assert sorted({(i.dataset, i.sample) for i in items}) == [
        ("lytro", "lytro_01"), ("lytro", "lytro_02"), ("mffw", "mffw_01"), ("mffw", "mffw_02")]
    assert all(i.fused.parent.name == "GCF" and i.sources[0].stem.endswith("_A") for i in items)
    # this copy has no MFI-WHU outputs: one failure record for the set, with the reason
    assert [(f["dataset"], f["sample"], f["status"]) for f in failures] == \
        [("mfi-whu", "*", "failed")]
    table = fusion_tables(frame(failures))[0]
    assert "no fused outputs for the 2 mfi-whu pairs" in table_markdown(table)


def test_profile_filter_and_precomputed_outputs_give_no_latency():
    from bench.report.markdown import precomputed_labels
    rows = [rec("average", "MI", 2.0), rec("average", "MI", 2.5, profile="tang"),
            rec("GFF", "MI", 3.0, profile="tang"),
            rec("average", "fuse", None, profile="-", seconds=0.01),
            rec("GFF", "fuse", None, profile="-", seconds=0.002)]
    report = build_report(frame(rows), profile="tang",
                          precomputed=precomputed_labels(["average", "precomputed"],
                                                         ["average", "GFF"]))
    fusion = [t for t in report.tables if t.kind == "fusion"]
    assert [t.profile for t in fusion] == ["tang"]
    assert {r.label: r.cells["MI"].mean for r in fusion[0].rows} == {"average": 2.5, "GFF": 3.0}
    (eff,) = [t for t in report.tables if t.kind == "efficiency"]
    assert [r.label for r in eff.rows] == ["average"]  # GFF's "fuse" time was file reading
    assert precomputed_labels(["folder:Theirs=/x/y?pattern={id}", "max"], ["Theirs", "max"]) == \
        {"Theirs"}
