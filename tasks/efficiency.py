"""`efficiency`: each method's cost at 480 x 640 on this machine, as records for the report's
efficiency table (bench/report/tables.py).

Records, one set per (method, fusion task), under every dataset of that task:
- `latency_ms`: median wall time of fusing one 480 x 640 single-channel pair (bench.synth.
  timing_pairs) after one warm-up call; up to 3 timed calls, fewer when one call takes > 5 s.
  sample '480x640', profile = the device (CPU model and thread count, or the CUDA device).
- `params`: parameter count; `flops`: multiply-accumulates of the conv/linear layers in one
  480 x 640 forward (thop's convention: the selective scan, FFTs and element-wise ops are not
  counted). Only for torch networks; classical methods get latency only.
Methods that need weights are timed with `timing_stand_in(task)`: the same network with random
weights (latency, params and FLOPs do not depend on the weight values); the record's reason
says so. Precomputed outputs (`folder:`) have no cost to measure: one failure record says why.
"""
from __future__ import annotations

import os
import platform
import statistics
import time

from bench.registry import TASKS
from bench.store import NO_PROFILE, Record

SIZE = (480, 640)
_MEASURED: dict[tuple[str, str], tuple[dict, str]] = {}


def device_label() -> str:
    import torch
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or "CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"cpu: {cpu} ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def _count_macs(net, call) -> int:
    """MACs of `net`'s conv/linear layers during `call()` (hooks of methods.smc_mamba.flops)."""
    import torch
    from methods.smc_mamba.flops import count_macs_of_call

    class _Call(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self):
            return call()

    return count_macs_of_call(_Call(), stub=False)


def measure(method_spec: str, task: str) -> tuple[dict, str]:
    """({'latency_ms': .., 'params': .., 'flops': ..}, note) for one method on one task."""
    from bench.registry import METHODS
    from bench.synth.timing_pairs import timing_pair
    from methods.base import parse_method_spec, resolve
    name = parse_method_spec(method_spec)[0]
    if name not in METHODS or METHODS.get(name).name != name:
        # folder methods keep their folder's name (VIFB's 'GFF'), registered ones are lower-case
        raise LookupError(f"{method_spec} is a folder of precomputed outputs: no cost to measure")
    method = resolve(method_spec)
    a, b = timing_pair(task, *SIZE)
    impl, net, note = method.impl, None, ""
    reason = getattr(impl, "unavailable_reason", lambda t: None)(task)
    stand_in = getattr(impl, "timing_stand_in", None)
    if reason is not None or callable(stand_in):
        if not callable(stand_in):
            raise RuntimeError(f"cannot time {method.name}: {reason}")
        net, fuse = stand_in(task)
        note = "random weights (the architecture's cost; values do not matter)"
    else:
        def fuse(x, y):
            return method.fuse_pair(x, y, task)
    values: dict = {}
    if net is not None:
        values["params"] = float(sum(p.numel() for p in net.parameters()))
        values["flops"] = float(_count_macs(net, lambda: fuse(a, b)))  # also the warm-up
    else:
        fuse(a, b)  # warm-up
    runs: list[float] = []
    while len(runs) < 3 and sum(runs) < 5.0:
        start = time.perf_counter()
        fuse(a, b)
        runs.append(time.perf_counter() - start)
    values["latency_ms"] = 1000.0 * statistics.median(runs)
    return values, note


@TASKS.register("efficiency", description="latency at 480x640 on this machine, params and "
                "FLOPs (thop convention) of each method", needs=(), uses_blocked_methods=True)
class Efficiency:
    def __init__(self, size: str = "480x640"):
        if size != "480x640":
            raise ValueError("efficiency is measured at 480x640, the size the field reports")

    def run(self, dataset, method_label: str, fused_dir, run_id: str) -> list[Record]:
        task = dataset.task
        device = device_label()
        key = (method_label, task)
        try:
            if key not in _MEASURED:
                _MEASURED[key] = measure(method_label, task)
            values, note = _MEASURED[key]
        except Exception as exc:  # a precomputed folder, a method that cannot run here
            why = f"{type(exc).__name__}: {exc}"
            return [Record(run_id, dataset.name, "all", method_label, "480x640", "latency_ms",
                           None, NO_PROFILE, "failed", f"efficiency not measured: {why}")]
        return [Record(run_id, dataset.name, "all", method_label, "480x640", name, value,
                       device, "ok", note, None) for name, value in values.items()]
