"""Markdown rendering of report tables (GitHub flavour).

Headers carry the metric's arrow (\u2191 higher is better, \u2193 lower); best is **bold**, second
best <u>underlined</u> (GitHub renders the HTML tag; Markdown has no underline); an empty cell
is '\u2013'.
Failures are listed under each table with their reasons and every sample.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..store import Store
from .tables import Failure, Report, Table, build_report, cell_text

ARROWS = {"higher": " \u2191", "lower": " \u2193"}


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _mark(text: str, mark: str) -> str:
    if not text or text == "failed":
        return text or "\u2013"
    return f"**{text}**" if mark == "best" else f"<u>{text}</u>" if mark == "second" else text


def table_markdown(table: Table) -> str:
    """One table: caption line, the grid, notes, failures."""
    lines = [f"*{_escape(table.caption)}*", ""]
    if not table.rows:
        return "\n".join(lines + ["No methods."])
    head = ["method"] + (["type"] if table.grouped else [])
    head += [c.label + ARROWS.get(c.direction or "", "") for c in table.columns]
    head += ["n"] + list(table.extra_columns)
    grid = []
    for r in table.rows:
        row = [_escape(r.label)] + ([r.group] if table.grouped else [])
        for c in table.columns:
            cell = r.cells[c.key]
            text = _mark(cell_text(cell, c, table.show_std), cell.mark)
            if cell.failed and cell.mean is not None:
                text += "\u2020"
            row.append(text)
        row += [r.n_text] + [_escape(r.extra.get(k, "")) for k in table.extra_columns]
        grid.append(row)
    lines.append(pd.DataFrame(grid, columns=head).to_markdown(index=False, disable_numparse=True))
    if not table.columns:
        lines += ["", "No metric values."]
    lines += [""] + [f"{n}" for n in table.notes]
    lines += failures_markdown(table.failures)
    return "\n".join(lines)


def failures_markdown(failures: list[Failure], title: str = "Failures") -> list[str]:
    if not failures:
        return []
    total = sum(len(f.samples) for f in failures)
    lines = ["", f"**{title} ({total}):**", ""]
    for f in failures:
        lines.append(f"- `{f.method}` \u00b7 {f.metric} \u00b7 {len(f.samples)} sample(s) "
                     f"({', '.join(f.samples)}): {f.reason}")
    return lines


def report_markdown(report: Report) -> str:
    lines = [f"# {report.title}", ""] + report.header
    if report.header:
        lines.append("")
    if not report.tables and not report.other_failures:
        return "\n".join(lines + ["No records."])
    for t in report.tables:
        lines += [f"## {t.title}", "", table_markdown(t), ""]
    if report.other_failures:
        lines += failures_markdown(report.other_failures, "Other failures") + [""]
    return "\n".join(lines)


def run_header(store: Store, run_id: str, notes: list[str] | None = None) -> list[str]:
    info = store.run_info(run_id) or {}
    lines = []
    if info:
        cfg = info["config"]
        lines += [f"Methods: `{', '.join(cfg.get('methods', []))}` \u00b7 datasets: "
                  f"`{', '.join(cfg.get('datasets', []))}` \u00b7 tasks: "
                  f"`{', '.join(cfg.get('tasks', []))}` \u00b7 profile: `{cfg.get('profile')}` "
                  f"\u00b7 updated {info['updated']}", ""]
    lines += [f"> note: {n}" for n in notes or []]
    return lines


def machine_name(store: Store, run_id: str) -> str:
    """The run's device in words (GPU when CUDA was used, else the CPU model)."""
    info = store.run_info(run_id) or {}
    machine = info.get("manifest", {}).get("machine", {})
    if machine.get("gpu"):
        return str(machine["gpu"])
    return f"CPU: {machine['cpu']}" if machine.get("cpu") else ""


def precomputed_labels(specs: list[str], labels) -> frozenset[str]:
    """Method labels of a run whose outputs were read from files: `folder:NAME=...` specs, and
    with the `precomputed` group every label that is not a registered method's own name
    (resolve() labels registered methods by their entry name; folders keep the folder's name)."""
    from ..registry import METHODS
    found = {s.split(":", 1)[1].split("=", 1)[0] for s in specs if s.lower().startswith("folder:")}
    if any(s.lower() == "precomputed" for s in specs):
        for label in labels:
            base = label.split("?")[0]
            if base not in METHODS or METHODS.get(base).name != base:
                found.add(label)
    return frozenset(found)


def run_report(store: Store, run_id: str, notes: list[str] | None = None, *,
               profile: str | None = None, std: bool = True) -> Report:
    records = store.dataframe(run_id)
    specs = (store.run_info(run_id) or {}).get("config", {}).get("methods", [])
    return build_report(records, title=f"fusebench run `{run_id}`",
                        header=run_header(store, run_id, notes), profile=profile, std=std,
                        machine=machine_name(store, run_id),
                        precomputed=precomputed_labels(specs, records["method"].unique()))


def run_summary_markdown(store: Store, run_id: str, notes: list[str] | None = None) -> str:
    """The run's report.md: every table with mean \u00b1 sample std."""
    return report_markdown(run_report(store, run_id, notes))


def write_run_report(store: Store, run_id: str, run_dir: Path,
                     notes: list[str] | None = None) -> Path:
    from ..imageio import atomic_write_bytes
    path = Path(run_dir) / "report.md"
    atomic_write_bytes(path, run_summary_markdown(store, run_id, notes).encode("utf-8"))
    return path
