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

    rep = sub.add_parser("report", help="tables of a run (Markdown)")
    rep.add_argument("run", help="run id or run folder (runs/<run-id>)")
    rep.add_argument("--out", type=Path, default=None)

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


def cmd_report(args) -> int:
    from .report import write_run_report
    from .store import Store
    from . import paths
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
    with Store(store_path) as store:
        if store.run_info(run_id) is None:
            known = ", ".join(r["run_id"] for r in store.runs()) or "none"
            raise FileNotFoundError(f"no run {run_id!r} in {store_path}; runs there: {known}")
        notes = _load_notes(Path(home) / run_id)
        path = write_run_report(store, run_id, Path(home) / run_id, notes)
    print(path.read_text())
    print(f"\nwritten: {path}", file=sys.stderr)
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
            "train": cmd_train}
