"""Run manifest: what produced a run (config, package versions, git commit, seed, machine)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata

from .paths import REPO_ROOT

PACKAGES = ("fusebench", "numpy", "opencv-contrib-python-headless", "scikit-image", "scipy",
            "pandas", "pillow", "pydicom", "pywavelets", "torch", "torchvision", "ultralytics",
            "mmsegmentation", "mamba-ssm")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> dict[str, str | bool]:
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True,
                              text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": "unknown"}
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown"}


def machine() -> dict[str, object]:
    info: dict[str, object] = {"platform": platform.platform(), "python": sys.version.split()[0],
                               "cpu_count": os.cpu_count(), "hostname": platform.node()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["cuda"] = bool(torch.cuda.is_available())
        if info["cuda"]:
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def build_manifest(config: dict, seed: int, datasets: dict[str, str]) -> dict:
    return {"config": config, "seed": seed, "packages": package_versions(), "git": git_commit(),
            "machine": machine(), "dataset_fingerprints": datasets}
