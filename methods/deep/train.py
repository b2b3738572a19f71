"""`python -m bench train ifcnn|densefuse`: train the deep baselines without downloading anything.

DenseFuse (Li & Wu, TIP 2019): the auto-encoder (encoder + decoder, no fusion layer) is trained
to reconstruct single greyscale images, loss = pixel + lambda * (1 - SSIM), as the paper and the
official PyTorch release do: pixel = mean squared error in the network's [0, 255] intensity
scale (the release's MSELoss on 8-bit values), SSIM = single-scale Gaussian SSIM (11 px, sigma
1.5) on [0, 1] (the paper's SSIM; the release's MS-SSIM needs crops of >= 161 px), lambda = 100
by default (the release's chosen weight; the paper compares 1, 10, 100, 1000). Adam, lr 1e-4,
batch 4 (release). Left out: MS-COCO (80,000 images) cannot be downloaded: train on any folder of
images or the embedded data.

IFCNN (Zhang et al., Information Fusion 2020): trained end to end on synthetic multi-focus pairs
against the sharp image (ground truth), loss = mean squared error over the 3 output channels
(grey inputs replicated to RGB, no normalisation, as the official script feeds grey images), with
the chosen fusion rule (--rule, default max). Left out, because no pretrained network can be
downloaded here: the paper's perceptual loss on ResNet-101 features, and the ImageNet ResNet-101
initialisation of conv1 (conv1 gets a seeded He initialisation and stays frozen, as in the paper);
NYU-D2 depth maps to place the focus regions (random smooth regions instead, see
_train_data.multifocus_pair). Adam (lr 1e-3 by default, ours).

Both: seeded and stateless data sampling (see _train_data), checkpoint OUT/checkpoint.pt every
--ckpt-every iterations and at the end, --resume continues it bit-for-bit on the same data and
options, a JSON-lines log OUT/train_log.jsonl (one row every --log-every iterations), a tqdm
progress bar, and the weights OUT/weights.pt (official key layout inside our weights format,
loadable as `ifcnn?weights=OUT/weights.pt`; copy it to methods/deep/weights/<name>.pt to make it
the default) with OUT/weights.json (the training metadata).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from bench.datasets.base import DatasetError
from bench.registry import RegistryError

CHECKPOINT_FORMAT = "fusebench-deep-train/1"


@dataclass
class TrainOptions:
    method: str                      # 'ifcnn' | 'densefuse'
    data: list[str] = field(default_factory=lambda: ["samples"])
    out: str | None = None
    iters: int = 2000
    batch_size: int = 4
    crop: int = 128
    lr: float = 1e-4
    seed: int = 0
    resume: bool = False
    device: str = "auto"
    threads: int = 0
    ckpt_every: int = 200
    log_every: int = 10
    progress: bool = True
    rule: str = "max"                # IFCNN fusion rule trained with
    ssim_weight: float = 100.0       # DenseFuse lambda
    command: str = ""


@dataclass
class TrainResult:
    out: Path
    weights: Path
    checkpoint: Path
    log: Path
    iterations: int
    last_terms: dict
    seconds: float


# ---------------------------------------------------------------------------------------------
# The two methods: network and loss
# ---------------------------------------------------------------------------------------------

def _ifcnn_setup(opts: TrainOptions):
    from ._ifcnn_net import FUSE_RULES, IFCNNNet
    if opts.rule not in FUSE_RULES:
        raise DatasetError(f"--rule must be one of {', '.join(FUSE_RULES)}, got {opts.rule!r}")
    return IFCNNNet(opts.rule)


def _ifcnn_loss(net, crops, rng, device, opts: TrainOptions):
    """Pixel MSE of the fused RGB output against the sharp crop (all replicated to 3 channels)."""
    import numpy as np
    import torch
    from ._train_data import multifocus_pair
    pairs = [multifocus_pair(c, rng) for c in crops]
    a = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None].expand(-1, 3, -1, -1)
    b = torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None].expand(-1, 3, -1, -1)
    gt = torch.from_numpy(crops)[:, None].expand(-1, 3, -1, -1).to(device)
    out = net(a.to(device), b.to(device))
    pixel = torch.mean((out - gt) ** 2)
    value = pixel.item()
    return pixel, {"total": value, "pixel": value}


def _densefuse_setup(opts: TrainOptions):
    from ._densefuse_net import DenseFuseNet
    return DenseFuseNet(channels=1)


def _densefuse_loss(net, crops, rng, device, opts: TrainOptions):
    """MSE in [0, 255] + lambda * (1 - SSIM on [0, 1]) of the auto-encoder's reconstruction."""
    import torch
    from methods.smc_mamba.losses import ssim
    x = torch.from_numpy(crops)[:, None].to(device) * 255.0
    out = net(x)
    pixel = torch.mean((out - x) ** 2)
    ssim_term = 1.0 - ssim(out / 255.0, x / 255.0).mean()
    total = pixel + opts.ssim_weight * ssim_term
    return total, {"total": total.item(), "pixel": pixel.item(), "ssim": ssim_term.item()}


METHODS: dict[str, tuple[Callable, Callable]] = {
    "ifcnn": (_ifcnn_setup, _ifcnn_loss),
    "densefuse": (_densefuse_setup, _densefuse_loss),
}
# options that must not change between a checkpoint and its --resume
RESUME_KEYS = ("method", "batch_size", "crop", "seed", "rule", "ssim_weight", "lr")


# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------

def _default_out(method: str, seed: int) -> Path:
    from bench import paths
    return paths.home() / "train" / f"{method}-s{seed}"


def train(opts: TrainOptions, log=None) -> TrainResult:
    """Train one model (see the module docstring); returns where everything was written."""
    import torch
    from tqdm import tqdm

    from methods._training import (atomic_write_text as _atomic_write_text, read_log as _read_log,
                                   rng_state as _rng_state, set_rng_state as _set_rng_state,
                                   training_device as _device)
    from methods._weights_io import atomic_torch_save as _atomic_torch_save

    from ._train_data import CropSampler, collect_images, fingerprint
    from ._weights import save_weights

    say = log or (lambda msg: print(msg, file=sys.stderr))
    if opts.method not in METHODS:
        raise DatasetError(f"no trainer for {opts.method!r}; trainable: {', '.join(METHODS)}")
    for name in ("iters", "ckpt_every", "log_every"):
        if getattr(opts, name) < 1:
            raise DatasetError(f"--{name.replace('_', '-')} must be at least 1")
    setup, loss_fn = METHODS[opts.method]
    if opts.threads > 0:
        torch.set_num_threads(opts.threads)
    device = _device(opts.device)
    paths, notes = collect_images(opts.data)
    for note in notes:
        say(f"note: {note}")
    sampler = CropSampler(paths, opts.crop, opts.batch_size, opts.seed)
    fp = fingerprint(paths)

    out = Path(opts.out) if opts.out else _default_out(opts.method, opts.seed)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path, weights_path = out / "checkpoint.pt", out / "train_log.jsonl", out / "weights.pt"
    torch.manual_seed(opts.seed)
    net = setup(opts).to(device)
    net.train()
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=opts.lr)
    options = {k: v for k, v in asdict(opts).items() if k not in ("command", "progress", "resume")}
    start, elapsed = 0, 0.0
    if ckpt_path.exists() and not opts.resume:
        raise DatasetError(f"{out} already holds a checkpoint; pass --resume to continue it or "
                           "choose another --out")
    if opts.resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if ckpt.get("format") != CHECKPOINT_FORMAT or ckpt.get("method") != opts.method:
            raise DatasetError(f"{ckpt_path} is not a fusebench {opts.method} checkpoint")
        changed = [k for k in RESUME_KEYS if ckpt["options"].get(k) != options.get(k)]
        if ckpt["data_fingerprint"] != fp:
            changed.append("data")
        if changed:
            raise DatasetError(f"--resume: {', '.join(changed)} differ(s) from the checkpoint in "
                               f"{out}; resume with the original options or choose another --out")
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        _set_rng_state(ckpt["rng"], device)
        start, elapsed = int(ckpt["iteration"]), float(ckpt["seconds"])
        say(f"resuming {out} at iteration {start}")
    elif opts.resume:
        say(f"note: --resume: no checkpoint in {out} yet; starting from iteration 0")
    _atomic_write_text(log_path, "".join(line + "\n" for line in _read_log(log_path, start)))

    def checkpoint(done: int) -> None:
        _atomic_torch_save({
            "format": CHECKPOINT_FORMAT, "method": opts.method, "iteration": done,
            "seconds": elapsed, "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "optimizer": optimizer.state_dict(), "rng": _rng_state(device),
            "data_fingerprint": fp, "options": options}, ckpt_path)

    say(f"training {opts.method} on {len(paths)} images (fingerprint {fp}) for {opts.iters} "
        f"iterations, batch {opts.batch_size}, crop {opts.crop}, seed {opts.seed}, device "
        f"{device}; output {out}")
    bar = tqdm(total=opts.iters, initial=min(start, opts.iters), disable=not opts.progress,
               dynamic_ncols=True, desc=f"train {opts.method}", unit="it")
    terms: dict[str, float] = {}
    window: dict[str, float] = {}
    window_n = 0
    with open(log_path, "a", encoding="utf-8") as log_fh:
        for it in range(start, opts.iters):
            t0 = time.perf_counter()
            crops, rng = sampler.sample(it)
            loss, terms = loss_fn(net, crops, rng, device, opts)
            optimizer.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"iteration {it}: non-finite loss {terms}; last "
                                         f"checkpoint: {ckpt_path}")
            loss.backward()
            optimizer.step()
            elapsed += time.perf_counter() - t0
            done = it + 1
            for k, v in terms.items():
                window[k] = window.get(k, 0.0) + v
            window_n += 1
            bar.update(1)
            bar.set_postfix({k: f"{v:.4g}" for k, v in terms.items()}, refresh=False)
            if done % opts.log_every == 0 or done == opts.iters:
                row = {"it": done, **{k: v / window_n for k, v in window.items()},
                       "lr": opts.lr, "seconds": round(elapsed, 4)}
                log_fh.write(json.dumps(row) + "\n")
                log_fh.flush()
                window, window_n = {}, 0
            if done % opts.ckpt_every == 0 or done == opts.iters:
                checkpoint(done)
    bar.close()
    if start >= opts.iters:
        say(f"note: the checkpoint is already at iteration {start} >= --iters {opts.iters}")

    meta = {"method": opts.method, "rule": opts.rule if opts.method == "ifcnn" else None,
            "norm": "none" if opts.method == "ifcnn" else None,
            "iterations": max(start, opts.iters), "data_fingerprint": fp,
            "data_images": len(paths), "data_specs": list(opts.data), "seed": opts.seed,
            "batch_size": opts.batch_size, "crop": opts.crop,
            "optimizer": {"type": "adam", "lr": opts.lr},
            "loss": ("mse" if opts.method == "ifcnn" else
                     f"mse(0..255) + {opts.ssim_weight} * (1 - ssim)"),
            "final_terms": terms, "seconds": round(elapsed, 3), "command": opts.command,
            "device": str(device), "torch": str(torch.__version__),
            "python": platform.python_version(),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    save_weights(weights_path, opts.method, net.state_dict(), meta)
    _atomic_write_text(out / "weights.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    say(f"done: {weights_path} ({meta['iterations']} iterations, {elapsed:.1f} s); use it as "
        f"{opts.method}?weights={weights_path}")
    return TrainResult(out, weights_path, ckpt_path, log_path, meta["iterations"], terms, elapsed)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

DESCRIPTIONS = {
    "ifcnn": "Train IFCNN on synthetic multi-focus pairs made from single images (pixel MSE "
             "against the sharp image; no perceptual loss, conv1 randomly initialised and frozen: "
             "see methods/deep/train.py).",
    "densefuse": "Train the DenseFuse auto-encoder on single greyscale images (MSE + lambda * "
                 "(1 - SSIM); see methods/deep/train.py)."}
DEFAULTS = {"ifcnn": {"crop": 128, "lr": 1e-3}, "densefuse": {"crop": 256, "lr": 1e-4}}


def build_parser(method: str, prog: str) -> argparse.ArgumentParser:
    from bench.cli import _csv
    d = DEFAULTS[method]
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTIONS[method])
    p.add_argument("--data", type=_csv, default=["samples"],
                   help="image folders and/or dataset specs NAME[:ROOT][?k=v], comma-separated "
                        "(default: samples, the embedded data)")
    p.add_argument("--out", default=None,
                   help=f"output folder (default: $FUSEBENCH_HOME/train/{method}-s<seed>)")
    p.add_argument("--iters", type=int, default=2000, help="training iterations (default 2000)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--crop", type=int, default=d["crop"], help=f"crop size (default {d['crop']})")
    p.add_argument("--lr", type=float, default=d["lr"], help=f"Adam learning rate ({d['lr']:g})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--ckpt-every", type=int, default=200)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--no-progress", action="store_true")
    if method == "ifcnn":
        p.add_argument("--rule", default="max", choices=("max", "mean", "sum"),
                       help="element-wise fusion rule trained with (default max)")
    else:
        p.add_argument("--ssim-weight", type=float, default=100.0,
                       help="lambda of the SSIM term (default 100)")
    return p


def _main(method: str, argv: Sequence[str] | None, prog: str) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(method, prog).parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors and --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    opts = TrainOptions(method=method, data=args.data, out=args.out, iters=args.iters,
                        batch_size=args.batch_size, crop=args.crop, lr=args.lr, seed=args.seed,
                        resume=args.resume, device=args.device, threads=args.threads,
                        ckpt_every=args.ckpt_every, log_every=args.log_every,
                        progress=not args.no_progress, rule=getattr(args, "rule", "max"),
                        ssim_weight=getattr(args, "ssim_weight", 100.0),
                        command=f"{prog} {shlex.join(argv)}")
    opts.out = opts.out or str(_default_out(method, opts.seed))
    try:
        train(opts)
    except KeyboardInterrupt:
        print(f"interrupted; continue from the last checkpoint in {opts.out} with the same command "
              "plus --resume", file=sys.stderr)
        return 130
    except (DatasetError, RegistryError, ValueError, FileNotFoundError,
            FloatingPointError) as exc:
        if os.environ.get("FUSEBENCH_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main_ifcnn(argv: Sequence[str] | None = None, prog: str = "python -m bench train ifcnn") -> int:
    """`bench train ifcnn`: parse, train, return an exit status (2 on a usage or data error)."""
    return _main("ifcnn", argv, prog)


def main_densefuse(argv: Sequence[str] | None = None,
                   prog: str = "python -m bench train densefuse") -> int:
    """`bench train densefuse`: parse, train, return an exit status (2 on a usage or data error)."""
    return _main("densefuse", argv, prog)

