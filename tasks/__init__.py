"""Downstream tasks run on the fused-image folders of a run.

`fusion` (the fusion metrics) is built into the runner. Downstream tasks register here with
`TASKS.register(name, description=..., needs=..., available=..., reason=...)` on a class that
is instantiated with the task spec's parameters (`--tasks detect?protocol=fixed&epochs=20`
-> `Detect(protocol="fixed", epochs=20)`) and whose
`run(dataset, method_label, fused_dir, run_id) -> list[Record]` evaluates one method's fused
images. Every public module of this package (name not starting with '_') is imported and
registers its task; `detect` and `segment` fall back to placeholders that say why they cannot
run when their module is missing.
"""
import importlib
import pkgutil

from bench.registry import TASKS

if "fusion" not in TASKS:
    TASKS.register("fusion", description="per-image fusion metrics under a named profile",
                   needs=("sources", "fused"))(object)
    for _info in pkgutil.iter_modules(__path__):
        if not _info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{_info.name}")
    if "detect" not in TASKS:
        TASKS.register("detect", description="YOLO detection (mAP50, mAP50-95) on fused images",
                       needs=("boxes",), available=False,
                       reason="tasks/detection.py is missing")(object)
    if "segment" not in TASKS:
        TASKS.register("segment", description="semantic segmentation (mIoU) on fused images",
                       needs=("masks",), available=False,
                       reason="tasks/segmentation.py is missing")(object)
