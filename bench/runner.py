"""The runner: plan -> jobs -> fused images -> metrics -> downstream -> records.

A run is identified by its arguments (methods, datasets, tasks, metrics, profile, limit, seed):
running the same command again continues the same run and redoes only what is missing, so a
killed run ends, once restarted, with exactly the records an uninterrupted run would have.
Records of a job are committed in one batch when the job finishes.
"""
from __future__ import annotations

import json
import math
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__, paths
from .datasets import open_datasets
from .datasets.base import Dataset, DatasetError
from .executor import import_plugins, make_executor
from .hashing import digest_strings
from .jobs import FusionJob, JobResult, run_job
from .manifest import build_manifest
from .registry import METHODS, METRICS, TASKS, RegistryError
from .store import FUSE, LOAD, NO_PROFILE, Record, Store


@dataclass
class RunConfig:
    methods: list[str]
    datasets: list[str] = field(default_factory=lambda: ["samples"])
    tasks: list[str] = field(default_factory=lambda: ["fusion"])
    metrics: list[str] | None = None  # None: every default metric
    profile: str = "default"
    limit: int | None = None
    seed: int = 0
    workers: int | None = None  # not part of the run identity
    plugins: list[str] = field(default_factory=list)
    retry_failed: bool = False

    def identity(self) -> dict:
        return {"fusebench": __version__, "methods": self.methods, "datasets": self.datasets,
                "tasks": self.tasks, "metrics": self.metrics, "profile": self.profile,
                "limit": self.limit, "seed": self.seed, "plugins": self.plugins}

    def run_id(self, fingerprints: dict[str, str]) -> str:
        """Same arguments on the same data -> same run (so a restart continues it)."""
        key = {**self.identity(), "fingerprints": fingerprints}
        return "run-" + digest_strings([json.dumps(key, sort_keys=True)])[:12]


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    store_path: Path
    notes: list[str]
    counts: dict[str, int]


class Progress:
    """A tqdm bar with ETA on stderr (silent when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="img", desc="fusing+scoring", file=sys.stderr,
                            dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int, label: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr)


def run(config: RunConfig, home: Path | None = None, run_id: str | None = None,
        progress: bool = True, quiet: bool = False) -> RunResult:
    import methods  # noqa: F401  (registers built-in methods)
    import tasks  # noqa: F401  (registers downstream tasks)
    from .metrics import get_profile

    import_plugins(config.plugins)
    home = Path(home) if home else paths.home()
    get_profile(config.profile)
    metric_names = metric_selection(config.metrics, config.profile)
    datasets, load_failures, notes = _open_datasets(config)
    fingerprints = {d.name: d.fingerprint() for d in datasets}
    run_id = run_id or config.run_id(fingerprints)
    run_dir = home / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    store = Store(home / "store.sqlite")
    cache_root = str(_cache_root(home))
    manifest = build_manifest(asdict(config), config.seed, fingerprints)
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    fresh = store.start_run(run_id, {**config.identity(), "fingerprints": fingerprints}, manifest)
    _say(f"{'run' if fresh else 'resuming run'} {run_id} -> {run_dir}", quiet)
    store.add([Record(run_id, ds, "all", "-", sample, LOAD, None, NO_PROFILE, "failed", reason)
               for ds, sample, reason in load_failures])

    # -- tasks ---------------------------------------------------------------------------------
    downstream = []
    for t in config.tasks:
        from methods.base import parse_method_spec  # the same NAME?key=value syntax
        name, params = parse_method_spec(t)
        entry = TASKS.get(name)
        if not entry.available:
            notes.append(f"task {entry.name} is not available: {entry.reason}")
        if entry.name != "fusion":
            downstream.append((entry, params))

    plan, method_records, blocked = _plan(config, datasets, run_id, notes)
    store.add(method_records)
    for note in notes:
        _say(f"note: {note}", quiet)

    # -- jobs ----------------------------------------------------------------------------------
    executor = make_executor(config.workers, config.plugins)
    local = make_executor(0, config.plugins)
    jobs = _jobs(plan, store, run_id, metric_names, config, cache_root, run_dir,
                 max(1, getattr(executor, "workers", 1)))
    bar = Progress(sum(len(j.samples) for j in jobs), progress and not quiet)
    counts = {"ok": 0, "failed": 0}
    try:
        _execute(jobs, executor, local, store, bar, counts)
    finally:
        bar.close()
        executor.shutdown()

    # -- downstream ------------------------------------------------------------------------------
    for entry, params in downstream:
        pairs = [(ds, m.name) for ds, m in plan]
        if entry.meta.get("uses_blocked_methods"):
            pairs += blocked
        for ds, method_name in pairs:
            if not entry.available:
                store.add([Record(run_id, ds.name, "all", method_name, "*", entry.name, None,
                                  NO_PROFILE, "failed", f"not available: {entry.reason}")])
                continue
            fused_dir = run_dir / "fused"
            store.add(entry.obj(**params).run(ds, method_name, fused_dir, run_id))

    from .report import write_run_report
    (run_dir / "notes.json").write_text(json.dumps(notes, indent=1))
    write_run_report(store, run_id, run_dir, notes)
    store.close()
    return RunResult(run_id, run_dir, store.path, notes, counts)


def _open_datasets(config: RunConfig) -> tuple[list[Dataset], list[tuple[str, str, str]], list[str]]:
    """Open every dataset spec -> (datasets, load failures (dataset, sample, reason), notes).
    A spec that cannot be opened, and every discovery problem, is a load failure, not a crash."""
    datasets: list[Dataset] = []
    failures: list[tuple[str, str, str]] = []
    notes: list[str] = []
    for spec in config.datasets:
        try:
            datasets.extend(open_datasets(spec))
        except (DatasetError, RegistryError, OSError) as exc:
            notes.append(f"dataset {spec}: {exc}")
            failures.append((spec.split(":")[0], "*", str(exc)))
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise DatasetError(f"two datasets share a name ({names}); give one `?name=...`")
    for ds in datasets:
        if config.limit is not None:
            ds.samples = ds.samples[: config.limit]
        failures.extend((ds.name, p.sample, p.reason) for p in ds.problems)
        if not ds.samples:
            notes.append(f"dataset {ds.name}: no samples to run"
                         + (f" ({ds.problems[0].reason})" if ds.problems else ""))
    return datasets, failures, notes


def _cache_root(home: Path) -> Path:
    import os
    env = os.environ.get("FUSEBENCH_CACHE")
    return Path(env) if env else home / "cache"


def _plan(config: RunConfig, datasets: list[Dataset], run_id: str, notes: list[str]):
    """-> ([(dataset, method)] to run, failure records for methods that cannot run,
    [(dataset, spec)] of methods that resolve but lack something for the task, e.g. trained
    weights: downstream tasks registered with uses_blocked_methods=True (`efficiency`, which
    times the architecture) still see them). Groups expand per dataset task; notes collects
    what the user must be told."""
    from methods.precomputed import expansion_context  # `precomputed` reads the dataset
    plan: list[tuple[Dataset, object]] = []
    failures: list[Record] = []
    blocked: list[tuple[Dataset, str]] = []
    for ds in datasets:
        names, group_notes = METHODS.expand(config.methods, expansion_context(ds))
        notes.extend(n for n in group_notes if n not in notes)
        for spec in names:
            method, problem = _resolve_for(spec, ds)
            if method is not None:
                plan.append((ds, method))
                continue
            if problem.startswith("method ") and " cannot run on " in problem:
                blocked.append((ds, spec))
            label = spec.split("=")[0].split(":")[-1] if spec.lower().startswith("folder:") else spec
            if problem not in notes:
                notes.append(problem)
            failures.append(Record(run_id, ds.name, "all", label, "*", FUSE, None, NO_PROFILE,
                                   "failed", problem))
    return plan, failures, blocked


def _jobs(plan, store: Store, run_id: str, metric_names: list[str], config: RunConfig,
          cache_root: str, run_dir: Path, workers: int) -> list[FusionJob]:
    """Shard jobs for the samples each (dataset, method) still lacks in this run."""
    jobs: list[FusionJob] = []
    for ds, method in plan:
        metrics = metrics_for(ds, metric_names)
        done = store.completed_samples(run_id, ds.name, method.name, metrics, config.profile,
                                       config.retry_failed)
        pending = [s for s in ds.samples if s.id not in done]
        size = _shard_size(len(pending), workers)
        phases = ("fuse",) if method.device == "cuda" else ("fuse", "score")
        for i in range(0, len(pending), size):
            jobs.append(FusionJob(run_id, ds.name, ds.task, method.spec, method.name,
                                  pending[i:i + size], metrics, config.profile, cache_root,
                                  str(run_dir), phases=phases))
    return jobs


def metric_selection(requested: list[str] | None, profile: str) -> list[str]:
    """--metrics as given; none: the profile's toolkit set; 'all': every registered metric."""
    from .metrics import default_metrics
    if not requested:
        return default_metrics(profile)
    if [m.lower() for m in requested] == ["all"]:
        return [e.name for e in METRICS]
    from .metrics import resolve
    return [resolve(m, profile)[0].name for m in requested]


def metrics_for(ds: Dataset, names: list[str]) -> list[str]:
    """The requested metrics that apply to a dataset: reference-based ones (needing ground
    truth) only where every sample has ground truth."""
    has_gt = bool(ds.samples) and all(s.gt is not None for s in ds.samples)
    return [m for m in names if has_gt or "gt" not in METRICS.get(m).meta["needs"]]


def _resolve_for(spec: str, ds: Dataset):
    """-> (method, None) or (None, reason it cannot run on this dataset)."""
    from methods.base import MethodUnavailable, resolve
    try:
        method = resolve(spec)
    except MethodUnavailable as exc:
        return None, str(exc)
    except RegistryError as exc:
        return None, str(exc)
    if ds.task not in method.tasks:
        return None, (f"method {method.name} does not support task {ds.task} "
                      f"(it supports {', '.join(sorted(method.tasks))})")
    # a method may lack what one task needs (e.g. trained weights for that task)
    check = getattr(method.impl, "unavailable_reason", None)
    reason = check(ds.task) if callable(check) else None
    if reason:
        return None, f"method {method.name} cannot run on {ds.task}: {reason}"
    return method, None


def _shard_size(n: int, workers: int) -> int:
    return max(1, min(16, math.ceil(n / (workers * 4))))


def _execute(jobs: list[FusionJob], executor, local, store: Store, bar: Progress,
             counts: dict[str, int]) -> None:
    """Submit jobs, commit each finished job's records, chain score phases of GPU jobs.

    If a worker process dies, every job in flight is a suspect: the pool is restarted and the
    suspects run again one at a time, so only the job that kills a worker on its own is recorded
    as failed.
    """
    pending: dict[Future, FusionJob] = {}
    queue = deque(jobs)
    suspects: deque[FusionJob] = deque()
    isolated: set[int] = set()
    limit = max(2, 2 * max(1, getattr(executor, "workers", 1)))

    def submit(job: FusionJob) -> None:
        target = local if job.phases == ("fuse",) else executor
        pending[target.submit(run_job, job)] = job

    while queue or pending or suspects:
        if suspects:
            if not pending:
                job = suspects.popleft()
                isolated.add(id(job))
                submit(job)
        else:
            while queue and len(pending) < limit:
                submit(queue.popleft())
        if not pending:
            continue
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        broken = False
        for fut in done:
            job = pending.pop(fut)
            try:
                result: JobResult = fut.result()
            except BrokenProcessPool:
                broken = True
                if id(job) not in isolated:
                    suspects.append(job)
                    continue
                result = _failed_job(job, "the worker process died while running this job "
                                          "(killed, out of memory, or a crash in native code)")
            except Exception as exc:
                result = _failed_job(job, f"job failed: {type(exc).__name__}: {exc}")
            store.add(result.records)
            for r in result.records:
                if r.metric == FUSE:
                    counts["ok" if r.ok else "failed"] += 1
            if job.phases == ("fuse",):
                queue.appendleft(FusionJob(**{**job.__dict__, "phases": ("score",),
                                              "fused": result.fused}))
            else:
                bar.update(len(job.samples), f"{job.dataset} | {job.method_label}")
        if broken:
            suspects.extend(pending.values())  # they died with the pool
            pending.clear()
            executor.restart()


def _failed_job(job: FusionJob, reason: str) -> JobResult:
    recs = [Record(job.run_id, job.dataset, s.split, job.method_label, s.id, FUSE, None,
                   NO_PROFILE, "failed", reason) for s in job.samples] if "fuse" in job.phases \
        else [Record(job.run_id, job.dataset, s.split, job.method_label, s.id, m, None, job.profile,
                     "failed", reason) for s in job.samples for m in job.metrics]
    return JobResult(recs, {})
