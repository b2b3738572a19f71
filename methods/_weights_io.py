"""File plumbing shared by the learned methods (SMC-Mamba, IFCNN, DenseFuse): atomic writing of
a torch payload, the weights digest that keys the fused-image cache, and the device choice."""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterable


def atomic_torch_save(payload, path: str | Path) -> Path:
    """torch.save to a temporary file beside `path`, then rename: a reader never sees a partial
    file. The file gets the umask's mode (bench.imageio.new_file_mode), not mkstemp's 0600."""
    import torch
    from bench.imageio import new_file_mode
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, new_file_mode())
    os.close(fd)
    try:
        torch.save(payload, tmp)
        with open(tmp, "rb") as fh:  # on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, hashed once per (path, size, mtime)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_digest(paths: Iterable[Path]) -> str:
    """16 hex digits over the names and contents of `paths` (a missing file counts as missing),
    so that new weights never reuse stale cached outputs."""
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        h.update(path.name.encode())
        if path.is_file():
            st = path.stat()
            h.update(_file_sha256(str(path), st.st_size, st.st_mtime_ns).encode())
        else:
            h.update(b"<missing>")
    return h.hexdigest()[:16]


def torch_device(name: str):
    """'auto' -> CUDA when available, else CPU; anything else as torch.device(name)."""
    import torch
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
