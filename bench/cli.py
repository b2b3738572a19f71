"""`python -m bench ...`: argument parsing only; the work happens in the modules it calls."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path


_NEW_SPEC = re.compile(r"^[A-Za-z][\w\-]*(/[\w\-]+)?(:|\?|$)")


def _csv(text: str) -> list[str]:
    """Split a comma list. A piece that does not start like a spec (NAME, NAME:..., NAME?...)
    continues the `pairs:DIR_A,DIR_B` spec before it, so folder lists stay together."""
    parts: list[str] = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if parts and parts[-1].lower().startswith("pairs:") and "?" not in parts[-1] \
                and not _NEW_SPEC.match(piece):
            parts[-1] += "," + piece
        else:
            parts.append(piece)
    return parts


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description="fusebench: a benchmark "
                                "suite for general image fusion")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="methods, datasets, metrics, tasks, and what each needs")
    ls.add_argument("what", nargs="?", default="all",
                    choices=["all", "methods", "datasets", "metrics", "tasks"])
    ls.add_argument("--plugins", type=_csv, default=[], help="modules to import first")

    r = sub.add_parser("run", help="fuse, score and evaluate methods on datasets")
    r.add_argument("--methods", type=_csv, required=True,
                   help="names, groups (baselines, classical, deep) or folder:NAME=DIR, comma-separated")
    r.add_argument("--datasets", type=_csv, default=["samples"],
                   help="dataset specs NAME[:ROOT][?k=v], comma-separated (default: samples)")
    r.add_argument("--tasks", type=_csv, default=["fusion"], help="fusion, detect, segment")
    r.add_argument("--metrics", type=_csv, default=None,
                   help="metric names, or 'all'; default: the profile's toolkit set")
    r.add_argument("--profile", default="default", help="metric convention profile")
    r.add_argument("--limit", type=int, default=None, help="at most N samples per dataset")
    r.add_argument("--workers", type=int, default=None,
                   help="worker processes (0 = in this process; default: min(cores, 4))")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", type=Path, default=None, help="run folder root (default: runs/ or "
                   "$FUSEBENCH_HOME)")
    r.add_argument("--run-id", default=None, help="name the run (default: derived from the arguments)")
    r.add_argument("--retry-failed", action="store_true", help="redo samples that failed before")
    r.add_argument("--plugins", type=_csv, default=[], help="modules that register extra methods")
    r.add_argument("--no-progress", action="store_true")

    rep = sub.add_parser("report", help="tables of a run (Markdown, LaTeX, CSV; figures; the "
                         "paper's numbers beside ours)")
    rep.add_argument("run", help="run id or run folder (runs/<run-id>)")
    rep.add_argument("--out", type=Path, default=None,
                     help="run folder root holding store.sqlite (default: runs/ or "
                     "$FUSEBENCH_HOME)")
    rep.add_argument("--format", type=_csv, default=["md"],
                     help="comma list of md, latex, csv (default: md)")
    rep.add_argument("--profile", default=None, help="only this metric profile's fusion tables")
    rep.add_argument("--std", action="store_true", help="cells as mean ± sample std")
    rep.add_argument("--figures", action="store_true", help="also write figures/")
    rep.add_argument("--compare", default=None, metavar="paper",
                     help="print the paper's numbers beside ours ('paper' or a CSV of the same "
                     "columns)")
    rep.add_argument("--to", type=Path, default=None,
                     help="folder for the report files (default: the run folder)")

    rp = sub.add_parser("reproduce", help="recompute a benchmark's leaderboard from its published "
                        "fused outputs (vifb: checked against VIFB's stored MATLAB values)")
    rp.add_argument("benchmark", choices=["vifb", "mfif"])
    rp.add_argument("--data", type=Path, default=None,
                    help="benchmark root (default: the shared data's ivf/VIFB or "
                    "mff/MFIF_benchmark)")
    rp.add_argument("--out", type=Path, default=None,
                    help="output folder (default: reports/vifb_reproduction or reports/mfif)")
    rp.add_argument("--limit", type=int, default=None, help="at most N scenes/pairs per dataset")
    rp.add_argument("--methods", type=_csv, default=None, help="only these method folders")
    rp.add_argument("--workers", type=int, default=None,
                    help="worker processes (0 = in this process; default: min(cores, 4))")
    rp.add_argument("--format", type=_csv, default=["md", "latex", "csv"])
    rp.add_argument("--std", action="store_true", help="cells as mean ± sample std")
    rp.add_argument("--no-figures", action="store_true")

    ds = sub.add_parser("datasets", help="inspect datasets, or tell where to get them")
    dsub = ds.add_subparsers(dest="action", required=True)
    ins = dsub.add_parser("inspect", help="pairs found, sizes, modes, problems")
    ins.add_argument("spec")
    fi = dsub.add_parser("fetch-info", help="where a dataset comes from, which layout to point at")
    fi.add_argument("name", nargs="?", default=None)

    tr = sub.add_parser("train", help="train a learned method (smc: `python -m bench train smc "
                        "--help` lists its options)")
    tr.add_argument("method", nargs="?", default=None, help="the method to train: smc")
    tr.add_argument("rest", nargs=argparse.REMAINDER,
                    help="the method's own options, e.g. --task ivf --data split:ivf")
    return p


def main(argv: list[str] | None = None) -> int:
    from .datasets.base import DatasetError
    from .registry import RegistryError
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to continue where it stopped",
              file=sys.stderr)
        return 130
    except (DatasetError, RegistryError, FileNotFoundError) as exc:
        if os.environ.get("FUSEBENCH_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_list(args) -> int:
    from .listing import format_listing
    from .executor import import_plugins
    import_plugins(args.plugins)
    print(format_listing(args.what))
    return 0


def cmd_run(args) -> int:
    from .runner import RunConfig, run
    if args.out is not None:
        os.environ["FUSEBENCH_HOME"] = str(args.out)
    config = RunConfig(methods=args.methods, datasets=args.datasets, tasks=args.tasks,
                       metrics=args.metrics, profile=args.profile, limit=args.limit,
                       seed=args.seed, workers=args.workers, plugins=args.plugins,
                       retry_failed=args.retry_failed)
    result = run(config, home=args.out, run_id=args.run_id, progress=not args.no_progress)
    report = (result.run_dir / "report.md").read_text()
    print(report)
    print(f"\nrecords: {result.store_path} (run {result.run_id}); fused images: "
          f"{result.run_dir / 'fused'}; report: {result.run_dir / 'report.md'}", file=sys.stderr)
    if result.counts["ok"] == 0 and result.counts["failed"] == 0 and not _has_records(result):
        print("error: nothing ran (see the notes above)", file=sys.stderr)
        return 1
    return 0


def _has_records(result) -> bool:
    from .store import Store
    with Store(result.store_path) as store:
        return any(r.ok for r in store.records(result.run_id))


REPORT_FORMATS = {"md": "report.md", "markdown": "report.md", "latex": "report.tex",
                  "tex": "report.tex", "csv": "report.csv"}


def cmd_report(args) -> int:
    from .report.markdown import report_markdown, run_report
    from .store import Store
    from . import paths
    unknown = [f for f in args.format if f.lower() not in REPORT_FORMATS]
    if unknown:
        print(f"error: unknown format(s) {', '.join(unknown)}; use md, latex, csv", file=sys.stderr)
        return 2
    run_path = Path(args.run)
    if run_path.is_dir() and (run_path / "manifest.json").exists():
        home, run_id = run_path.parent, run_path.name
    else:
        home, run_id = (args.out or paths.home()), args.run
    store_path = Path(home) / "store.sqlite"
    if not store_path.exists():
        raise FileNotFoundError(f"no results store at {store_path}; pass the run folder "
                                "(runs/<run-id>) or --out")
    import methods  # noqa: F401  (metric directions and method metadata)
    from . import metrics  # noqa: F401
    dest = args.to or Path(home) / run_id
    with Store(store_path) as store:
        if store.run_info(run_id) is None:
            known = ", ".join(r["run_id"] for r in store.runs()) or "none"
            raise FileNotFoundError(f"no run {run_id!r} in {store_path}; runs there: {known}")
        notes = _load_notes(Path(home) / run_id)
        report = run_report(store, run_id, notes, profile=args.profile, std=args.std)
        records = store.dataframe(run_id)
    written = _write_report(report, dest, {REPORT_FORMATS[f.lower()] for f in args.format})
    text = report_markdown(report)
    if args.compare:
        from .report.compare import compare, compare_markdown, load_paper
        table = compare(report.tidy(), load_paper(args.compare))
        cmp_md = compare_markdown(table)
        text += "\n## Compared with the paper\n\n" + cmp_md
        written.append(_write_text(dest / "compare_paper.md", cmp_md))
        written.append(_write_text(dest / "compare_paper.csv", table.to_csv(index=False)))
    if args.figures:
        from .reproduce import make_figures
        written += make_figures(records, dest / "figures", run_dir=Path(home) / run_id)
    print(text)
    print(f"\nwritten: {_describe_written(written)}", file=sys.stderr)
    return 0


def _describe_written(paths: list[Path]) -> str:
    """The files written, with a figures/ folder summarised as a count."""
    figures = [p for p in paths if p.parent.name == "figures"]
    rest = [str(p) for p in paths if p not in figures]
    if figures:
        rest.append(f"{len(figures)} figure files in {figures[0].parent}")
    return ", ".join(rest)


def _write_report(report, dest: Path, names: set[str]) -> list[Path]:
    from .report.latex import report_latex
    from .report.markdown import report_markdown
    render = {"report.md": report_markdown, "report.tex": report_latex,
              "report.csv": lambda r: r.tidy().to_csv(index=False)}
    written = [_write_text(dest / name, render[name](report)) for name in sorted(names)]
    if "report.csv" in names:
        written.append(_write_text(dest / "report_failures.csv",
                                   report.failures_frame().to_csv(index=False)))
    return written


def _write_text(path: Path, text: str) -> Path:
    from .imageio import atomic_write_bytes
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def cmd_reproduce(args) -> int:
    from . import paths, reproduce
    root = args.data or paths.shared_data() / reproduce.DEFAULT_DATA[args.benchmark]
    out = args.out or reproduce.DEFAULT_OUT[args.benchmark]
    if not root.is_dir():
        raise FileNotFoundError(f"no {args.benchmark} folder at {root}; pass --data")
    formats = tuple({"markdown": "md", "tex": "latex"}.get(f.lower(), f.lower())
                    for f in args.format)
    import methods  # noqa: F401  (method metadata for the table groups)
    from . import metrics  # noqa: F401
    run = reproduce.reproduce_vifb if args.benchmark == "vifb" else reproduce.reproduce_mfif
    result = run(root, out, limit=args.limit, methods=args.methods, workers=args.workers,
                 formats=formats, std=args.std, figures=not args.no_figures)
    print((out / "leaderboard.md").read_text() if "md" in formats else "")
    if result.deviation is not None:
        print("max relative deviation per metric (VIFB stored MATLAB values):")
        for r in result.deviation.itertuples():
            print(f"  {r.metric:6s} {r.max_rel_dev:.2e}  (max abs {r.max_abs_dev:.2e}, n {r.n}, "
                  f"outside bar {r.outside_bar})")
    print(f"written: {_describe_written(result.written)}", file=sys.stderr)
    if not result.within_bar:
        print("error: some values are outside the bar (see check.csv)", file=sys.stderr)
        return 1
    return 0


def _load_notes(run_dir: Path) -> list[str]:
    import json
    f = run_dir / "notes.json"
    return json.loads(f.read_text()) if f.exists() else []


def cmd_datasets(args) -> int:
    from .datasets import inspect as ds_inspect
    if args.action == "inspect":
        print(ds_inspect.format_inspection(ds_inspect.inspect_datasets(args.spec)))
    else:
        print(ds_inspect.fetch_info(args.name))
    return 0


def cmd_train(args) -> int:
    """Hand the method's own arguments to its trainer (each trainer parses its options)."""
    trainers = {"smc": ("methods.smc_mamba.train", "main"),
                "ifcnn": ("methods.deep.train", "main_ifcnn"),
                "densefuse": ("methods.deep.train", "main_densefuse")}
    aliases = {"smc-mamba": "smc", "smc_mamba": "smc"}
    method = aliases.get(args.method or "", args.method)
    if method is None:
        print("usage: python -m bench train METHOD [options]; trainable methods: "
              f"{', '.join(sorted(trainers))}. `python -m bench train smc --help` lists the "
              "options.", file=sys.stderr)
        return 2
    if method not in trainers:
        print(f"error: `bench train {args.method}`: no trainer for that method; trainable: "
              f"{', '.join(sorted(trainers))}", file=sys.stderr)
        return 2
    import importlib
    module, func = trainers[method]
    return getattr(importlib.import_module(module), func)(list(args.rest),
                                                           prog=f"python -m bench train {method}")


COMMANDS = {"list": cmd_list, "run": cmd_run, "report": cmd_report, "datasets": cmd_datasets,
            "train": cmd_train, "reproduce": cmd_reproduce}
