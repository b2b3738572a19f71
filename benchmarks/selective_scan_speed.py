#!/usr/bin/env python3
"""Selective-scan speed: our CPU scan vs mamba-ssm's selective_scan_ref (printed, not a test).

    python benchmarks/selective_scan_speed.py [--threads 1] [--cap 120] [--repeat 5]
        [--lengths 4096,16384,65536] [--batch 1 --dim 16 --state 16] [--model-shape]

For each length L, in one run and on the same inputs: forward (under torch.no_grad) and
forward+backward (gradients of every input), of methods.smc_mamba.selective_scan and of
mamba-ssm's pure-torch `selective_scan_ref`, and the ratio ref / ours. Options on, as in a
Mamba block: D, z, delta_bias, delta_softplus; u, z, B, C, D standard normal, delta
N(-2, 0.5^2) (so dt = softplus(delta + bias) is about 0.1), A = -(1..N) per channel as in
Mamba's initialisation. Ours: median of --repeat runs after one
warm-up call (the kernels' first-call compile or cache load is printed separately). Reference:
one run, in a child process stopped after --cap seconds of compute; a stopped run is printed as
"> cap" and its ratio as a lower bound (cap / ours), never as a measured number. (Its
backward is quadratic in L: per-step slicing of the (b, d, L, N) tensors.)
--threads sets torch's thread count (0: torch's default), used by both; ours also
caps numba's threads by it. --model-shape adds ours alone at a training-size shape.
Needs mamba-ssm for the reference (CPU install: see tests/test_smc_scan.py); without it our
times are printed and the comparison is skipped with a message.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402


def make_inputs(batch, dim, n, length, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(u=torch.randn(batch, dim, length, generator=g),
                delta=torch.randn(batch, dim, length, generator=g) * 0.5 - 2.0,
                A=-torch.arange(1, n + 1, dtype=torch.float32).repeat(dim, 1),
                B=torch.randn(batch, n, length, generator=g),
                C=torch.randn(batch, n, length, generator=g),
                D=torch.randn(dim, generator=g),
                z=torch.randn(batch, dim, length, generator=g),
                delta_bias=torch.rand(dim, generator=g) * 0.5)


def run_once(fn, inputs, backward):
    """Seconds for one forward (no grad) or forward+backward of fn on inputs."""
    if not backward:
        t0 = time.perf_counter()
        with torch.no_grad():
            fn(**inputs, delta_softplus=True)
        return time.perf_counter() - t0
    x = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    t0 = time.perf_counter()
    y = fn(**x, delta_softplus=True)
    y.backward(torch.ones_like(y))
    return time.perf_counter() - t0


def mamba_ref():
    """mamba-ssm's selective_scan_ref (its CUDA module stubbed for the import), or None."""
    sys.modules.setdefault("selective_scan_cuda", types.ModuleType("selective_scan_cuda"))
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_ref
    except Exception:
        return None
    return selective_scan_ref


def _ref_child(queue, shape, backward, threads):
    if threads:
        torch.set_num_threads(threads)
    fn = mamba_ref()
    inputs = make_inputs(*shape)
    queue.put(("start", None))
    queue.put(("done", run_once(fn, inputs, backward)))


def time_ref(shape, backward, threads, cap):
    """(seconds, finished): the reference in a child process, stopped after `cap` s."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_ref_child, args=(queue, shape, backward, threads), daemon=True)
    proc.start()
    try:
        kind, _ = queue.get(timeout=300)            # imports and inputs, not timed
        assert kind == "start"
        t0 = time.perf_counter()
        try:
            kind, seconds = queue.get(timeout=cap)
            return seconds, True
        except Exception:                           # queue.Empty: past the cap
            return time.perf_counter() - t0, False
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()


def machine(threads):
    cpu = platform.processor() or "unknown CPU"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba
    return (f"{cpu}, {os.cpu_count()} logical cores; torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads ({'set' if threads else 'default'}); "
            f"numba {numba.__version__}, up to {numba.config.NUMBA_NUM_THREADS} threads; "
            f"Python {platform.python_version()}; load average at start "
            f"{os.getloadavg()[0]:.1f}")


def fmt(seconds):
    return f"{seconds * 1e3:10.1f} ms" if seconds < 10 else f"{seconds:10.1f} s "


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--cap", type=float, default=120.0,
                    help="seconds of compute after which a reference run is stopped")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--lengths", default="4096,16384,65536")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--state", type=int, default=16)
    ap.add_argument("--model-shape", action="store_true",
                    help="also time ours at batch 2, dim 64, N 16, L 131072 (no reference)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from methods.smc_mamba import scan

    lengths = [int(v) for v in args.lengths.split(",")]
    print(f"machine: {machine(args.threads)}")
    print(f"shape: batch {args.batch}, dim {args.dim}, N {args.state}, L in {lengths}; "
          f"float32; D, z, delta_bias, delta_softplus on")
    print(f"our kernels: first call {scan.compile_kernels():.1f} s (numba compile, or load "
          f"from its disk cache)")
    have_ref = mamba_ref() is not None
    if not have_ref:
        print("mamba-ssm is not installed: the reference columns are skipped (see "
              "tests/test_smc_scan.py for the CPU install recipe).")
    print(f"ours: median and min of {args.repeat} after a warm-up; reference: one run, "
          f"stopped after {args.cap:.0f} s (then '>' and the ratio is a lower bound); "
          f"ratios use our median\n")
    print(f"{'L':>7} {'pass':<8} {'ours median':>13} {'ours min':>13} {'reference':>15} "
          f"{'ref / ours':>14}")
    for length in lengths:
        shape = (args.batch, args.dim, args.state, length)
        inputs = make_inputs(*shape)
        for backward in (False, True):
            run_once(scan.selective_scan, inputs, backward)
            runs = [run_once(scan.selective_scan, inputs, backward) for _ in range(args.repeat)]
            ours = statistics.median(runs)
            line = (f"{length:>7} {'fwd+bwd' if backward else 'fwd':<8} {fmt(ours):>13} "
                    f"{fmt(min(runs)):>13}")
            if have_ref:
                ref, finished = time_ref(shape, backward, args.threads, args.cap)
                if finished:
                    line += f" {fmt(ref):>15} {ref / ours:>13.0f}x"
                else:
                    bound = f">= {args.cap / ours:.0f}x"
                    line += (f" {'> ' + fmt(args.cap).strip():>15} {bound:>14}"
                             f"  (lower bound: the reference was stopped at the cap)")
            print(line, flush=True)
    if args.model_shape:
        shape = (2, 64, 16, 131072)
        inputs = make_inputs(*shape)
        for backward in (False, True):
            run_once(scan.selective_scan, inputs, backward)
            ours = statistics.median(run_once(scan.selective_scan, inputs, backward)
                                     for _ in range(max(1, args.repeat // 2)))
            print(f"ours only, batch 2, dim 64, N 16, L 131072, "
                  f"{'fwd+bwd' if backward else 'fwd'}: {fmt(ours).strip()}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
