"""Training SMC-Mamba: `python -m bench train smc --task TASK --data SPEC[,SPEC...] [options]`.

Recipe (SMC_MAMBA_SPEC.md §5 and §10.13-14; [P] = the paper, [R] = the spec's choice):
* Adam(lr 2e-4, betas 0.9/0.999, no weight decay) [P lr, beta1; R the rest], batch size 1 [P].
* LR (§10.13): eta(it) = eta_k [0.75 + 0.25 cos(pi (it mod 1000) / 1000)],
  eta_k = 2e-4 * 0.5^floor(it / 1000), floored at 1e-6 (`lr_at`). `it` is 0-based.
* Random crops (default 256; smaller ones with --crop, e.g. the CPU presets) and random
  horizontal/vertical flips; inputs are the sources' Y channels in [0, 1] (see
  methods/smc_mamba/data.py for reading, stacks, size checks, the crop RNG and the fingerprint).
* Loss: methods/smc_mamba/losses.total_loss with the config's weights and switches; lambda(t)
  of L_mccm uses the fractional epoch t = it / n_pairs and T = --epochs.
* Length: --iters N and/or --epochs T. Only --epochs: N = ceil(T * n_pairs). Only --iters:
  T = N / n_pairs (lambda runs from 1 to 0 over the run). Neither: T = 30 [R §10.14].
  A run continued with --resume and a larger --iters keeps its lambda(t) only when --epochs is
  given explicitly (otherwise T follows the new --iters).

Outputs in --out (default $FUSEBENCH_HOME/train/smc-<task>-<ablation>-s<seed>):
* checkpoint.pt: model + optimizer state, completed iterations, torch RNG states, config dict,
  data fingerprint, options; written atomically every --ckpt-every iterations and at the end;
  loads with torch.load(weights_only=True); also every --ckpt-minutes of wall time (slow CPU
  runs). `--resume` continues from it and gives the same
  weights as an uninterrupted run (data sampling is a pure function of seed and iteration).
* train_log.jsonl: one JSON object per --log-every iterations: it (completed iterations), lr
  and lambda (of the last iteration), the mean of every loss term over the window (total, fcl,
  pcl, mccm, wb, div, cons, ssim, int), seconds (cumulative training wall time), sec_per_it.
* weights.pt (methods.smc_mamba.weights format: plain tensors + plain JSON, loads with
  weights_only=True) and weights.json (its metadata): command, seed, data fingerprint,
  iterations, crop, config, ...
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from bench.datasets.base import DatasetError

from .._training import (atomic_write_text as _atomic_write_text, read_log as _read_log,  # noqa: F401
                         rng_state as _rng_state, set_rng_state as _set_rng_state,
                         training_device as _device)
from .._weights_io import atomic_torch_save as _atomic_torch_save
from . import data as tdata

CHECKPOINT_FORMAT = "fusebench-smc-checkpoint/1"
BASE_LR = 2e-4
LR_PERIOD = 1000
LR_FLOOR = 1e-6
DEFAULT_EPOCHS = 30.0
MAX_NONFINITE_IN_A_ROW = 20
TERM_ORDER = ("total", "fcl", "pcl", "mccm", "wb", "div", "cons", "lambda", "ssim", "int")


def lr_at(it: int, base: float = BASE_LR, period: int = LR_PERIOD, floor: float = LR_FLOOR) -> float:
    """Cosine halving every `period` iterations, floored (spec §10.13); `it` is 0-based."""
    k, r = divmod(int(it), period)
    eta_k = base * 0.5 ** k
    return max(floor, eta_k * (0.75 + 0.25 * math.cos(math.pi * r / period)))


@dataclass
class TrainOptions:
    task: str
    data: list[str] = field(default_factory=list)
    split_files: list[str] = field(default_factory=list)
    data_root: str | None = None
    out: str | None = None
    iters: int | None = None
    epochs: float | None = None
    crop: int = 256
    seed: int = 0
    resume: bool = False
    ablation: str | None = None
    device: str = "auto"
    threads: int = 0
    ckpt_every: int = 500
    ckpt_minutes: float = 10.0
    log_every: int = 10
    lr: float = BASE_LR
    fcl_detach: bool = False
    progress: bool = True
    command: str = ""


@dataclass
class TrainResult:
    out_dir: Path
    weights: Path
    checkpoint: Path
    log: Path
    iterations: int
    terms: dict[str, float]
    fingerprint: str
    n_pairs: int
    seconds: float


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def _default_out(task: str, ablation: str | None, seed: int) -> Path:
    from bench import paths
    return paths.home() / "train" / f"smc-{task}-{ablation or 'full'}-s{seed}"


def _make_config(opts: TrainOptions):
    from .config import SMCConfig
    return SMCConfig.from_ablation(opts.ablation) if opts.ablation else SMCConfig()


def _make_model(config):
    from .model import SMCMamba
    return SMCMamba(config)


# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------

def train(opts: TrainOptions, *, model_factory: Callable[[Any], Any] | None = None,
          config: Any = None, log=None) -> TrainResult:
    """Train one model; see the module docstring. `model_factory(config)` and `config` replace
    SMCMamba / SMCConfig (tests use tiny stand-ins)."""
    import torch
    from tqdm import tqdm

    from .losses import total_loss
    from .weights import save_weights

    say = log or (lambda msg: print(msg, file=sys.stderr))
    if opts.task not in tdata.TASKS:
        raise DatasetError(f"--task must be one of {', '.join(tdata.TASKS)}, got {opts.task!r}")
    if opts.crop < 2:
        raise DatasetError(f"--crop must be at least 2, got {opts.crop}")
    for name in ("iters", "ckpt_every", "log_every"):
        value = getattr(opts, name)
        if value is not None and value < 1:
            raise DatasetError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if opts.epochs is not None and opts.epochs <= 0:
        raise DatasetError(f"--epochs must be positive, got {opts.epochs}")
    if opts.threads > 0:
        torch.set_num_threads(opts.threads)
    device = _device(opts.device)

    root = tdata.data_root(opts.data_root)
    pairs, notes = tdata.resolve_training_data(opts.data, opts.task, root, opts.split_files)
    for note in notes:
        say(f"note: {note}")
    pairs = tdata.check_sizes(pairs)
    sampler = tdata.PairSampler(pairs, opts.crop, opts.seed)
    fp, n_files = tdata.fingerprint(pairs, root)
    n = len(pairs)
    if opts.iters is None:
        epochs = opts.epochs if opts.epochs is not None else DEFAULT_EPOCHS
        iters = int(math.ceil(epochs * n))
    else:
        iters = int(opts.iters)
        epochs = opts.epochs if opts.epochs is not None else iters / n

    config = config if config is not None else _make_config(opts)
    config_dict = config.to_dict()
    out = Path(opts.out) if opts.out else _default_out(opts.task, opts.ablation, opts.seed)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = out / "checkpoint.pt", out / "train_log.jsonl"
    weights_path = out / "weights.pt"

    torch.manual_seed(opts.seed)
    model = (model_factory or _make_model)(config).to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr, betas=(0.9, 0.999),
                                 weight_decay=0.0)
    start, elapsed, skipped = 0, 0.0, 0
    if ckpt_path.exists() and not opts.resume:
        raise DatasetError(f"{out} already holds a checkpoint; pass --resume to continue it or "
                           "choose another --out")
    if opts.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise DatasetError(f"{ckpt_path} is not a fusebench SMC-Mamba checkpoint")
        mismatch = [name for name, now, then in (
            ("task", opts.task, ckpt["options"]["task"]),
            ("data fingerprint", fp, ckpt["data_fingerprint"]),
            ("config", config_dict, ckpt["config"]),
            ("crop", opts.crop, ckpt["options"]["crop"]),
            ("seed", opts.seed, ckpt["options"]["seed"])) if now != then]
        if mismatch:
            raise DatasetError(f"--resume: {', '.join(mismatch)} differ(s) from the checkpoint in "
                               f"{out}; resume with the original options or choose another --out")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        _set_rng_state(ckpt["rng"], device)
        start, elapsed, skipped = int(ckpt["iteration"]), float(ckpt["seconds"]), int(ckpt["skipped"])
        say(f"resuming {out} at iteration {start}")
    elif opts.resume:
        say(f"note: --resume: no checkpoint in {out} yet; starting from iteration 0")
    log_lines = _read_log(log_path, start)
    _atomic_write_text(log_path, "".join(line + "\n" for line in log_lines))

    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    options.update(iters=iters, epochs=epochs)

    def checkpoint(done: int) -> None:
        _atomic_torch_save({
            "format": CHECKPOINT_FORMAT, "iteration": done, "seconds": elapsed, "skipped": skipped,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(), "rng": _rng_state(device),
            "config": config_dict, "data_fingerprint": fp, "options": options}, ckpt_path)

    say(f"training SMC-Mamba ({opts.ablation or 'full'}) for {opts.task} on {n} pairs "
        f"({n_files} files, fingerprint {fp}) for {iters} iterations (T = {epochs:.4g} epochs), "
        f"crop {opts.crop}, seed {opts.seed}, device {device}; output {out}")
    bar = tqdm(total=iters, initial=start, disable=not opts.progress, dynamic_ncols=True,
               desc=f"smc {opts.task}", unit="it")
    window: dict[str, float] = {}
    window_n, window_t0 = 0, time.perf_counter()
    last_ckpt = time.perf_counter()
    last_terms: dict[str, float] = {}
    in_a_row = 0
    with open(log_path, "a", encoding="utf-8") as log_fh:
        for it in range(start, iters):
            t0 = time.perf_counter()
            lr = lr_at(it, base=opts.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            a, b, _pid = sampler.sample(it)
            i1 = torch.from_numpy(a)[None, None].to(device)
            i2 = torch.from_numpy(b)[None, None].to(device)
            out_ = model(i1, i2)
            loss, terms = total_loss(out_, i1, i2, opts.task, t=it / n, T=epochs, config=config,
                                     detach_fcl_sources=opts.fcl_detach or None)
            optimizer.zero_grad(set_to_none=True)
            if torch.isfinite(loss):
                loss.backward()
                optimizer.step()
                in_a_row = 0
            else:
                skipped += 1
                in_a_row += 1
                warnings.warn(f"iteration {it}: non-finite loss ({terms}); step skipped")
                if in_a_row >= MAX_NONFINITE_IN_A_ROW:
                    raise FloatingPointError(f"{in_a_row} non-finite losses in a row (last at "
                                             f"iteration {it}); stopping. Checkpoint: {ckpt_path}")
            elapsed += time.perf_counter() - t0
            done = it + 1
            last_terms = terms
            for k, v in terms.items():
                window[k] = window.get(k, 0.0) + v
            window_n += 1
            bar.update(1)
            if opts.progress:
                bar.set_postfix({k: f"{terms[k]:.3g}" for k in ("total", "fcl", "pcl", "mccm",
                                                                 "ssim", "int")}, refresh=False)
            if done % opts.log_every == 0 or done == iters:
                now = time.perf_counter()
                row = {"it": done, "lr": lr}
                row.update({k: window[k] / window_n for k in TERM_ORDER if k in window})
                row["lambda"] = terms.get("lambda", 0.0)  # schedule values: the last, not a mean
                row.update(seconds=round(elapsed, 4),
                           sec_per_it=round((now - window_t0) / window_n, 5))
                log_fh.write(json.dumps(row) + "\n")
                log_fh.flush()
                window, window_n, window_t0 = {}, 0, now
            overdue = opts.ckpt_minutes > 0 and \
                time.perf_counter() - last_ckpt >= 60 * opts.ckpt_minutes
            if done % opts.ckpt_every == 0 or done == iters or overdue:
                checkpoint(done)
                last_ckpt = time.perf_counter()
    bar.close()
    if start >= iters:
        say(f"note: the checkpoint is already at iteration {start} >= --iters {iters}")
        if not ckpt_path.exists():
            checkpoint(start)

    meta = {
        "task": opts.task, "ablation": opts.ablation or "full",
        "command": opts.command or "", "seed": opts.seed,
        "data_fingerprint": fp, "data_files": n_files, "data_pairs": n,
        "data_specs": list(opts.data), "split_files": [str(f) for f in opts.split_files],
        "data_root": str(root), "iterations": max(iters, start), "epochs_T": epochs,
        "crop": opts.crop, "batch_size": 1,
        "optimizer": {"type": "adam", "lr": opts.lr, "betas": [0.9, 0.999], "weight_decay": 0.0},
        "lr_schedule": f"cosine halving every {LR_PERIOD} iterations, floor {LR_FLOOR}",
        "fcl_detach_sources": bool(opts.fcl_detach), "skipped_nonfinite": skipped,
        "final_terms": {k: float(v) for k, v in last_terms.items()},
        "seconds": round(elapsed, 3), "device": str(device), "torch": str(torch.__version__),
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    model_cpu = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_weights(weights_path, model_cpu, config_dict, meta)
    _atomic_write_text(out / "weights.json", json.dumps({"meta": meta, "config": config_dict},
                                                         indent=2, sort_keys=True) + "\n")
    say(f"done: {weights_path} ({max(iters, start)} iterations, {elapsed:.1f} s)")
    return TrainResult(out, weights_path, ckpt_path, log_path, max(iters, start), last_terms, fp,
                       n, elapsed)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def _csv(text: str) -> list[str]:
    from bench.cli import _csv as bench_csv
    return bench_csv(text)


def build_parser(prog: str = "python -m bench train smc") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog, description="Train SMC-Mamba (one model per task). Data: harness dataset "
        "specs and/or split files; see methods/smc_mamba/data.py and splits/README.md.")
    p.add_argument("--task", required=True, choices=tdata.TASKS)
    p.add_argument("--data", type=_csv, default=[],
                   help="dataset specs NAME:ROOT[?k=v] and/or split:NAME (a shipped split: ivf, "
                        "medical, medical_ct, medical_pet, medical_spect, mff, mef) or split:FILE, "
                        "comma-separated")
    p.add_argument("--split-file", action="append", default=[], metavar="FILE",
                   help="a split file of paths relative to the data root (repeatable)")
    p.add_argument("--data-root", default=None,
                   help="root the split files' paths are relative to (default: FUSEBENCH_DATA, "
                        "else ../shared/data next to the repository)")
    p.add_argument("--out", default=None, help="output folder (default: $FUSEBENCH_HOME/train/"
                   "smc-<task>-<ablation>-s<seed>)")
    p.add_argument("--iters", type=int, default=None, help="training iterations (batch 1)")
    p.add_argument("--epochs", type=float, default=None,
                   help="T of lambda(t); sets --iters when that is not given (default 30)")
    p.add_argument("--crop", type=int, default=256,
                   help="random crop size (default 256; CPU presets use 64-128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--ablation", default=None,
                   help="a Table 3 ablation name (methods.smc_mamba.config.ABLATIONS)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--ckpt-every", type=int, default=500, help="checkpoint every K iterations")
    p.add_argument("--ckpt-minutes", type=float, default=10.0,
                   help="also checkpoint when this many minutes passed since the last one "
                        "(slow CPU runs; 0 = off)")
    p.add_argument("--log-every", type=int, default=10, help="log row every K iterations")
    p.add_argument("--lr", type=float, default=BASE_LR, help="initial learning rate (2e-4)")
    p.add_argument("--fcl-detach", action="store_true",
                   help="stop the gradient into F_mk inside L_fcl (spec §10.10 fallback)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m bench train smc") -> int:
    """Parse, train, and return an exit status (2 on a usage or data error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(prog).parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors and --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    opts = TrainOptions(task=args.task, data=args.data, split_files=args.split_file,
                        data_root=args.data_root, out=args.out, iters=args.iters,
                        epochs=args.epochs, crop=args.crop, seed=args.seed, resume=args.resume,
                        ablation=args.ablation, device=args.device, threads=args.threads,
                        ckpt_every=args.ckpt_every, ckpt_minutes=args.ckpt_minutes,
                        log_every=args.log_every, lr=args.lr,
                        fcl_detach=args.fcl_detach, progress=not args.no_progress,
                        command=f"{prog} {shlex.join(argv)}")
    opts.out = opts.out or str(_default_out(opts.task, opts.ablation, opts.seed))
    try:
        train(opts)
    except KeyboardInterrupt:
        print(f"interrupted; continue from the last checkpoint in {opts.out} with the same command "
              "plus --resume", file=sys.stderr)
        return 130
    except (DatasetError, ValueError, FileNotFoundError, ImportError) as exc:
        if os.environ.get("FUSEBENCH_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m methods.smc_mamba.train"))
