#!/usr/bin/env python3
"""SMC-Mamba CUDA-path check, prepared for a GPU machine (printed; exits 2 without CUDA).

    python benchmarks/smc_cuda_check.py [--weights FILE] [--size 480x640] [--compare-size 128x160]
        [--repeat 20]

1. Agreement: the same model (seed 0, or --weights) on the same input pair at --compare-size,
   once on the CPU (our numba scan) and once on CUDA (mamba-ssm's selective_scan_fn when it
   imports, else it says so), eval mode: prints the max and mean absolute difference of the
   fused images (values in [0, 1]) and which scan ran on CUDA.
2. Latency: one 480x640 inference on CUDA (eval, inference_mode, batch 1), median and min of
   --repeat runs after 3 warm-ups, with torch.cuda.synchronize(); peak memory from
   torch.cuda.max_memory_allocated. Goal in issue #4: <= 50 ms on an H100 (paper: 288.5 ms on
   an RTX 3090).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from methods.smc_mamba.config import SMCConfig  # noqa: E402
from methods.smc_mamba.model import SMCMamba  # noqa: E402
from methods.smc_mamba.scan import _mamba_cuda_scan  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    h, _, w = text.lower().partition("x")
    return int(h), int(w)


def build(weights: str | None) -> SMCMamba:
    if weights:
        from methods.smc_mamba.weights import load_weights
        state, config, _ = load_weights(weights)
        net = SMCMamba(config)
        net.load_state_dict(state)
    else:
        torch.manual_seed(0)
        net = SMCMamba(SMCConfig())
    return net.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--size", default="480x640")
    ap.add_argument("--compare-size", default="128x160")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: this check needs a GPU machine")
        return 2
    print(f"device: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; "
          f"mamba-ssm CUDA scan: {'yes' if _mamba_cuda_scan() else 'NO (CPU fallback via copies)'}")
    net = build(args.weights)
    h, w = parse_size(args.compare_size)
    gen = torch.Generator().manual_seed(1)
    a, b = torch.rand(1, 1, h, w, generator=gen), torch.rand(1, 1, h, w, generator=gen)
    with torch.inference_mode():
        cpu = net(a, b).fused
        gpu_net = net.cuda()
        gpu = gpu_net(a.cuda(), b.cuda()).fused.cpu()
    diff = (cpu - gpu).abs()
    print(f"CPU vs CUDA at {h}x{w}: max |diff| {diff.max().item():.3e}, "
          f"mean {diff.mean().item():.3e}")
    h, w = parse_size(args.size)
    a, b = torch.rand(1, 1, h, w, device="cuda"), torch.rand(1, 1, h, w, device="cuda")
    torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.inference_mode():
        for i in range(3 + args.repeat):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            gpu_net(a, b)
            torch.cuda.synchronize()
            if i >= 3:
                times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2 ** 20
    print(f"CUDA inference at {h}x{w}: median {statistics.median(times) * 1e3:.1f} ms, "
          f"min {min(times) * 1e3:.1f} ms over {args.repeat} runs; peak memory {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
