"""Content-addressed cache of fused images.

Key = BLAKE2b over (harness I/O version, task, the method's identity: name, version, parameters,
weights digest, and the content hashes of the sources in order). Files live at
`<root>/fused/<key[:2]>/<key>.png` with a `<key>.json` sidecar (fusion seconds, bit depth, mode).
Both are written atomically (temp file + rename), the image first, so a reader that finds the
sidecar always finds a complete image, and a killed writer leaves at most a stray temp file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import hashing
from .imageio import atomic_write_bytes, encode_png

HARNESS_IO_VERSION = "fusebench-io-1"  # bump when the colour rule or quantisation changes


class FusedCache:
    def __init__(self, root: str | Path):
        self.root = Path(root) / "fused"

    @staticmethod
    def key(method_identity: list[str], task: str, source_digests: list[str]) -> str:
        return hashing.digest_strings([HARNESS_IO_VERSION, f"task={task}", *method_identity,
                                       *[f"source={d}" for d in source_digests]])

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.png"

    def get(self, key: str) -> tuple[Path, dict] | None:
        img, side = self.path(key), self.path(key).with_suffix(".json")
        if not side.exists() or not img.exists():
            return None
        try:
            return img, json.loads(side.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def put(self, key: str, data, meta: dict) -> Path:
        img = self.path(key)
        atomic_write_bytes(img, encode_png(data))
        atomic_write_bytes(img.with_suffix(".json"), json.dumps(meta, sort_keys=True).encode())
        return img


def safe_name(name: str) -> str:
    """A file-system-safe folder name for a method or dataset label (keeps unicode)."""
    out = "".join("_" if c in '/\\:?*"<>|' else c for c in name).strip(" .")
    return out or "_"


def link_into(target: Path, link: Path) -> None:
    """Expose `target` at `link`: a hard link, else a symlink, else an atomic copy.

    Linking is itself atomic (the name appears complete or not at all), so no temporary name is
    needed; an existing entry pointing elsewhere is replaced.
    """
    link.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(2):
        try:
            os.link(target, link)
            return
        except FileExistsError:
            if os.path.samefile(target, link):
                return
            os.unlink(link)
        except OSError:
            break
    try:
        if link.is_symlink() or link.exists():
            os.unlink(link)
        os.symlink(os.path.abspath(target), link)
    except OSError:
        from .imageio import atomic_write_bytes
        atomic_write_bytes(link, Path(target).read_bytes())
