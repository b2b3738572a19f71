"""Import shim that lets mmsegmentation 1.2.2 run on mmcv-lite 2.1.0 (no compiled ops).

Why: mmcv-lite ships `mmcv/ops/*.py` but no compiled `mmcv._ext`; the real `mmcv/ops/__init__.py`
imports every op, and most of them load `mmcv._ext` at import time, so `import mmcv.ops` fails.
mmseg imports from `mmcv.ops` unconditionally in a few places (`mmseg.utils`,
`mmseg.models.utils.point_sample`, `mmseg.models.losses.focal_loss`, `mmseg.models.decode_heads.
san_head`), so `mmseg.models`, `mmseg.apis`, `mmseg.datasets` and `mmseg.utils` cannot be imported.
The full mmcv with compiled ops takes far too long to build on a CPU machine (see
../shared/DEPENDENCIES.md).

What `install()` provides, before anything imports `mmcv.ops`:
- `sys.modules["mmcv.ops"]` is a stand-in package whose `__path__` is the real `mmcv/ops` folder
  (so submodules written in pure PyTorch still import), and whose `__init__` is NOT run;
- `mmcv.ops.point_sample` / `mmcv.ops.bilinear_grid_sample`: mmcv's own pure-PyTorch
  implementation (`mmcv/ops/point_sample.py`, which needs no compiled code);
- every other name (`sigmoid_focal_loss`, `DeformConv2d`, `CrissCrossAttention`, ...) resolves to
  a placeholder that raises `MMCVOpUnavailable` with the op's name when it is called or
  instantiated, so importing mmseg works and only a model that really uses a compiled op fails,
  with a clear message.

DeepLabV3+ (ResNetV1c + DepthwiseSeparableASPPHead) and SegFormer (MixVisionTransformer +
SegformerHead) use no compiled op. The shim refuses to install on a full mmcv that has
`mmcv._ext` (it is not needed there) and is idempotent.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

SHIM_FLAG = "__fusebench_mmcv_shim__"
PURE_TORCH_OPS = {"point_sample": "point_sample", "bilinear_grid_sample": "point_sample"}


class MMCVOpUnavailable(RuntimeError):
    """A compiled mmcv op was used under mmcv-lite."""


def _placeholder(name: str):
    def fail(*args, **kwargs):
        raise MMCVOpUnavailable(
            f"mmcv.ops.{name} needs mmcv's compiled ops (mmcv._ext), which mmcv-lite does not "
            "have; choose a model that does not use it (DeepLabV3+ and SegFormer do not)")

    # a class, so it works both as `op(...)` and as a base/`isinstance` target in guarded imports
    return type(name, (), {"__new__": lambda cls, *a, **k: fail(), "__call__": fail,
                           "__doc__": f"unavailable compiled op {name} (mmcv-lite)"})


def _has_compiled_ops() -> bool:
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except (ImportError, ValueError):
        return False


def install() -> bool:
    """Install the stand-in `mmcv.ops` (True), or leave a working full mmcv alone (False)."""
    existing = sys.modules.get("mmcv.ops")
    if existing is not None:
        return bool(getattr(existing, SHIM_FLAG, False))
    import mmcv  # the lite package itself imports fine
    if _has_compiled_ops():
        return False
    real_dir = importlib.util.find_spec("mmcv").submodule_search_locations[0] + "/ops"
    ops = types.ModuleType("mmcv.ops", "mmcv.ops stand-in installed by tasks._mmcv_shim")
    ops.__path__ = [real_dir]
    ops.__package__ = "mmcv.ops"
    setattr(ops, SHIM_FLAG, True)

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _placeholder(name)
        setattr(ops, name, value)
        return value

    ops.__getattr__ = __getattr__
    sys.modules["mmcv.ops"] = ops
    mmcv.ops = ops
    for public, module in PURE_TORCH_OPS.items():
        setattr(ops, public, getattr(importlib.import_module(f"mmcv.ops.{module}"), public))
    return True
