"""Downstream tasks run on the fused-image folders of a run.

`fusion` (the fusion metrics) is built into the runner. Downstream tasks register here with
`TASKS.register(name, description=..., needs=..., available=..., reason=...)` on a class whose
`run(dataset, method_label, fused_dir, run_id) -> list[Record]` evaluates one method's fused
images. `detect` and `segment` are placeholders until issue #6 lands, so asking for them says
so instead of silently doing nothing.
"""
from bench.registry import TASKS

if "fusion" not in TASKS:
    TASKS.register("fusion", description="per-image fusion metrics under a named profile",
                   needs=("sources", "fused"))(object)
    TASKS.register("detect", description="YOLO detection (mAP50, mAP50-95) on fused images",
                   needs=("boxes",), available=False,
                   reason="detection lands with issue #6 (tasks/detection.py)")(object)
    TASKS.register("segment", description="semantic segmentation (mIoU) on fused images",
                   needs=("masks",), available=False,
                   reason="segmentation lands with issue #6 (tasks/segmentation.py)")(object)
