"""Test-only methods that misbehave in each way the harness must survive (loaded with --plugins)."""
import os
import time

import numpy as np

from methods.base import ALL_TASKS, register_method
from bench.registry import METHODS

if "raises" not in METHODS:
    @register_method("raises", tasks=ALL_TASKS, description="test: raises on every sample")
    def raises(a, b, task):
        raise RuntimeError("deliberate failure inside the method")

    @register_method("nan", tasks=ALL_TASKS, description="test: returns NaN")
    def nan(a, b, task):
        out = (a + b) / 2
        out[0, 0] = np.nan
        return out

    @register_method("inf", tasks=ALL_TASKS, description="test: returns inf")
    def inf(a, b, task):
        out = (a + b) / 2
        out[-1, -1] = np.inf
        return out

    @register_method("wrongshape", tasks=ALL_TASKS, description="test: returns a cropped image")
    def wrongshape(a, b, task):
        return a[1:, :]

    @register_method("slow", tasks=ALL_TASKS, description="test: average after a pause")
    def slow(a, b, task):
        time.sleep(float(os.environ.get("FUSEBENCH_TEST_SLOW", "0.15")))
        return (a + b) / 2

    @register_method("half", tasks=ALL_TASKS, description="test: half of a plus a quarter of b")
    def half(a, b, task):
        return a * 0.5 + b * 0.25

    @register_method("crash", tasks=ALL_TASKS, description="test: kills its own process on a "
                     "white first source, else averages")
    def crash(a, b, task):
        if a.min() > 0.99:
            os.kill(os.getpid(), 9)
        return (a + b) / 2

    BATCH_CALLS = []

    @register_method("batched", tasks=ALL_TASKS, description="test: average with a batch hook")
    class Batched:
        def fuse(self, a, b, task):
            return (a + b) / 2

        def fuse_batch(self, pairs, task):
            BATCH_CALLS.append(len(pairs))
            return [(a + b) / 2 for a, b in pairs]

    @register_method("gpu-average", tasks=ALL_TASKS, device="cuda",
                     description="test: average declared as GPU-bound (fused in the main process)")
    def gpu_average(a, b, task):
        return (a + b) / 2
