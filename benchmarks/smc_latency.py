#!/usr/bin/env python3
"""SMC-Mamba size and speed benchmark (printed, not a timed test).

    python benchmarks/smc_latency.py [--size 480x640] [--latency-size HxW]
        [--variants all|full,no_mccm,...] [--no-latency] [--no-sizes] [--exact-flops]
        [--repeat 1] [--threads N] [--device cpu|cuda]

Prints the machine, then for every config variant (Table 3 of the paper [P §8], plus the untied
MAFE variant) the parameters and the thop-style FLOPs (multiply-accumulates of the conv/linear
layers, excluding the selective scan, FFTs, attention products and element-wise ops; counted in
eval mode, i.e. top-2 of 4 experts; see methods/smc_mamba/flops.py) at --size, next to the
paper's numbers. Loss-only ablations share the full network and are listed as such. The count
is affine in H*W, so it is taken from 16/32-pixel probe forwards (`count_flops_affine`, equal
to the full-size count; --exact-flops runs the full-size forward instead).

Then the latency of one inference of the default model at --size (eval, no_grad, batch 1,
inputs uniform in [0, 1]) in a fresh child process with the default torch threads (or
--threads): the median of --repeat runs after a warm-up forward at 16x16 (which loads the
compiled scan kernels). Peak memory on CPU is the child's peak resident set size
(resource.getrusage ru_maxrss), reported before and after the timed runs; on CUDA it is
torch.cuda.max_memory_allocated.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# as `python -m bench` does (bench/__main__.py): huge pages for large CPU tensors
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import torch  # noqa: E402

from methods.smc_mamba.config import ABLATIONS, SMCConfig  # noqa: E402
from methods.smc_mamba.flops import count_flops, count_flops_affine  # noqa: E402
from methods.smc_mamba.model import SMCMamba  # noqa: E402

# Table 3 [P §8]: params (M), FLOPs (G) at 480x640, time (ms, GPU not stated).
PAPER = {"full": (0.149, 46.105, 288.545), "mamba_to_conv": (0.325, 78.843, 430.392),
         "mamba_to_window_attention": (0.392, 58.313, 792.461),
         "mamba_to_attention": (0.240, 60.747, 1271.691),
         "no_mafe": (0.041, 14.260, 226.355), "no_mccm": (0.125, 38.606, 164.867)}
LOSS_FIELDS = {"loss_weights", "use_wb", "use_div", "use_cons", "fcl_detach_sources", "ablation"}


def parse_size(text: str) -> tuple[int, int]:
    h, _, w = text.lower().partition("x")
    return int(h), int(w)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    from methods.smc_mamba import scan
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    mamba = ("mamba-ssm kernel available" if scan._mamba_cuda_scan()
             else "CPU scan (methods.smc_mamba.scan)")
    return (f"machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()} "
            f"{platform.release()}\n"
            f"python {platform.python_version()}, torch {torch.__version__}, "
            f"torch threads {torch.get_num_threads()}, CUDA device: {cuda}\n"
            f"selective scan: {mamba}")


def variants(selection: str) -> dict[str, SMCConfig]:
    names = list(ABLATIONS) + ["untied_mafe"]
    if selection != "all":
        names = [n.strip() for n in selection.split(",") if n.strip()]
    out = {}
    for name in names:
        if name == "untied_mafe":
            out[name] = SMCConfig.from_ablation("full", mafe_shared_weights=False)
        else:
            out[name] = SMCConfig.from_ablation(name)
    return out


def flops_at(model: SMCMamba, h: int, w: int, exact: bool) -> int:
    """count_flops at h x w; from small probes (count_flops_affine, identical result) unless
    `exact` or the size needs padding (odd, or not a multiple of the attention window)."""
    ws = model.config.window_size
    if exact or h % 2 or w % 2 or h % ws or w % ws:
        return count_flops(model, h, w)
    return count_flops_affine(model, h, w)


def size_table(configs: dict[str, SMCConfig], h: int, w: int, exact: bool = False) -> list[dict]:
    rows, seen = [], {}
    for name, cfg in configs.items():
        key = json.dumps({k: v for k, v in cfg.to_dict().items() if k not in LOSS_FIELDS},
                         sort_keys=True)
        if key not in seen:
            torch.manual_seed(0)
            model = SMCMamba(cfg)
            t0 = time.perf_counter()
            seen[key] = (name, model.param_count(), flops_at(model, h, w, exact),
                         time.perf_counter() - t0)
        first, params, macs, secs = seen[key]
        rows.append({"variant": name, "params": params, "flops": macs,
                     "same_as": first if first != name else "", "count_s": secs})
    return rows


def print_table(rows: list[dict], h: int, w: int) -> None:
    print(f"\nparams and thop-style FLOPs (MACs, scan/FFT/attention excluded) at {h}x{w}")
    print(f"{'variant':28s} {'params (M)':>10s} {'FLOPs (G)':>10s} {'FLOPs/(P*HW)':>12s}   "
          f"{'paper P (M)':>11s} {'paper F (G)':>11s}  note")
    for r in rows:
        paper = PAPER.get(r["variant"])
        pp = f"{paper[0]:11.3f} {paper[1]:11.3f}" if paper else f"{'-':>11s} {'-':>11s}"
        ratio = r["flops"] / (r["params"] * h * w)
        note = f"same network as {r['same_as']}" if r["same_as"] else ""
        print(f"{r['variant']:28s} {r['params'] / 1e6:10.4f} {r['flops'] / 1e9:10.3f} "
              f"{ratio:12.3f}   {pp}  {note}")


# ----------------------------------------------------------------------------- latency
def latency_child(h: int, w: int, repeat: int, device: str) -> dict:
    torch.manual_seed(0)
    model = SMCMamba(SMCConfig()).eval().to(device)
    gen = torch.Generator().manual_seed(1)
    i1 = torch.rand(1, 1, h, w, generator=gen).to(device)
    i2 = torch.rand(1, 1, h, w, generator=gen).to(device)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    with torch.no_grad():
        t0 = time.perf_counter()
        model(i1[..., :16, :16], i2[..., :16, :16])               # loads the scan kernels
        sync()
        warmup = time.perf_counter() - t0
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = model(i1, i2)
            sync()
            times.append(time.perf_counter() - t0)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"size": [h, w], "device": device, "threads": torch.get_num_threads(),
              "times_s": times, "median_s": statistics.median(times), "warmup_16x16_s": warmup,
              "peak_rss_before_mib": rss_before / 1024, "peak_rss_mib": rss_after / 1024,
              "fused_range": [float(out.fused.min()), float(out.fused.max())]}
    if device.startswith("cuda"):
        result["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return result


def run_latency(h: int, w: int, repeat: int, threads: int | None, device: str) -> dict:
    cmd = [sys.executable, __file__, "--latency-child", "--size", f"{h}x{w}",
           "--repeat", str(repeat), "--device", device]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"latency child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="480x640", help="HxW (default 480x640, the paper's)")
    ap.add_argument("--latency-size", default=None, help="HxW of the timed inference "
                    "(default: --size)")
    ap.add_argument("--variants", default="all", help="'all' or comma-separated names")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--no-sizes", action="store_true", help="skip the params/FLOPs table")
    ap.add_argument("--exact-flops", action="store_true",
                    help="count FLOPs with a forward at --size (minutes at 480x640) instead of "
                         "from 16/32-pixel probes (the same number: the count is affine in H*W)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--latency-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    h, w = parse_size(args.size)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.latency_child:
        print(json.dumps(latency_child(h, w, args.repeat, args.device)))
        return 0

    print(machine())
    if not args.no_sizes:
        print_table(size_table(variants(args.variants), h, w, args.exact_flops), h, w)
    if not args.no_latency:
        h, w = parse_size(args.latency_size or args.size)
        r = run_latency(h, w, args.repeat, args.threads, args.device)
        times = ", ".join(f"{t:.2f}" for t in r["times_s"])
        print(f"\nlatency of one {h}x{w} inference, default config, eval/no_grad, batch 1, "
              f"{r['device']}, {r['threads']} torch threads:")
        print(f"  median {r['median_s']:.3f} s over {len(r['times_s'])} run(s) [{times}] "
              f"(warm-up forward at 16x16: {r['warmup_16x16_s']:.2f} s)")
        print(f"  peak RSS (ru_maxrss of the child process): {r['peak_rss_mib']:.0f} MiB "
              f"(before the timed runs: {r['peak_rss_before_mib']:.0f} MiB)")
        if "cuda_peak_mib" in r:
            print(f"  peak CUDA memory allocated: {r['cuda_peak_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
