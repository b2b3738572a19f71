"""Read and write images in every form the field's datasets use; data range always explicit.

Reading (`read_image`) accepts png, jpg, bmp and tif, in L, LA, RGB, RGBA, palette and
"RGB-but-grey" (three equal channels) forms, at 8 or 16 bits per channel (palette images are
expanded to RGB by the decoder, LA to RGBA). The format is taken from
the file's magic bytes, not its extension. The result keeps the integer samples and the bit depth,
so the data range is never guessed from a dtype: `to_float01` divides by 2**bits - 1.

Rules (stated once, here):
- RGB-but-grey files are treated as grey (mode 'L'); `source_mode` remembers 'RGB-grey'.
- The alpha channel of LA/RGBA files is dropped (not composited): fusion datasets use alpha only
  as an always-opaque artefact of how files were saved. `source_mode` remembers it.
- 16-bit files are scaled by 65535, whatever the sensor's real bit depth.
- EXIF orientation is ignored, as MATLAB's `imread` and the reference toolkits ignore it.
- Truncated or corrupt files raise `ImageReadError` (a JPEG without its end marker, a PNG without
  IEND, anything the decoder rejects); no partially decoded image is ever returned.

Writing (`write_image`) is lossless PNG at 8 or 16 bits, atomic (temp file + rename).
"""
from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


class ImageReadError(ValueError):
    """A file that cannot be read as an image. The message names the file and the fix."""


@dataclass(frozen=True)
class RawImage:
    """Decoded integer samples with their explicit range.

    data: uint8 or uint16, H x W (mode 'L') or H x W x 3 in RGB order (mode 'RGB').
    bits: 8 or 16; the data range is 0 .. 2**bits - 1.
    source_mode: what the file held: 'L', 'RGB', 'RGBA', 'RGB-grey', 'RGBA-grey' (grey + alpha,
        e.g. LA PNG), 'LA' (two-channel TIFF).
    fmt: container format from the magic bytes ('png', 'jpeg', 'bmp', 'tiff').
    """

    data: np.ndarray
    bits: int
    mode: str
    source_mode: str
    fmt: str
    path: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.data.shape[0]), int(self.data.shape[1])

    @property
    def max_value(self) -> int:
        return (1 << self.bits) - 1

    def to_float01(self) -> np.ndarray:
        """float32 in [0, 1]: samples / (2**bits - 1)."""
        return self.data.astype(np.float32) / np.float32(self.max_value)


def is_image_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def sniff_format(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _check_complete(buf: bytes, fmt: str, path: str) -> None:
    """Reject truncated files that decoders would otherwise half-decode silently."""
    if fmt == "jpeg":
        tail = buf[-4096:].rstrip(b"\x00\r\n\t ")
        if not tail.endswith(b"\xff\xd9"):
            raise ImageReadError(f"{path}: truncated JPEG (no end-of-image marker). "
                                 "Re-download or re-export the file, or remove it from the folder.")
    elif fmt == "png":
        if b"IEND" not in buf[-64:]:
            raise ImageReadError(f"{path}: truncated PNG (no IEND chunk). "
                                 "Re-download or re-export the file, or remove it from the folder.")
    elif fmt == "bmp" and len(buf) >= 6:
        declared = int.from_bytes(buf[2:6], "little")
        if declared > len(buf):
            raise ImageReadError(f"{path}: truncated BMP ({len(buf)} of {declared} bytes). "
                                 "Re-download or re-export the file, or remove it from the folder.")


def read_image(path: str | os.PathLike) -> RawImage:
    """Read one image file; see the module docstring for the rules."""
    path = os.fspath(path)
    try:
        buf = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found. Check the dataset path and layout "
                             "(`python -m bench datasets inspect NAME:DIR`).") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read file ({exc.strerror}). Check permissions.") from None
    if not buf:
        raise ImageReadError(f"{path}: zero-byte file. Re-download it or remove it from the folder.")
    fmt = sniff_format(buf[:8])
    if fmt is None:
        raise ImageReadError(f"{path}: not an image (unknown file signature). Supported: "
                             "png, jpg, bmp, tif. Remove the file or convert it.")
    _check_complete(buf, fmt, path)
    arr = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.size == 0:
        raise ImageReadError(f"{path}: the {fmt} decoder rejected the file (corrupt or "
                             "truncated). Re-download or re-export it, or remove it.")
    return _normalise(arr, fmt, path)


def _normalise(arr: np.ndarray, fmt: str, path: str) -> RawImage:
    if arr.dtype == np.uint8:
        bits = 8
    elif arr.dtype == np.uint16:
        bits = 16
    else:
        raise ImageReadError(f"{path}: {arr.dtype} samples have no defined data range. "
                             "Convert it to 8- or 16-bit unsigned integers.")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        return RawImage(np.ascontiguousarray(arr), bits, "L", "L", fmt, path)
    if arr.ndim != 3 or arr.shape[2] not in (2, 3, 4):
        raise ImageReadError(f"{path}: unsupported image layout {arr.shape}.")
    channels = arr.shape[2]
    if channels == 2:  # grey + alpha
        return RawImage(np.ascontiguousarray(arr[:, :, 0]), bits, "L", "LA", fmt, path)
    source_mode = "RGBA" if channels == 4 else "RGB"
    rgb = np.ascontiguousarray(arr[:, :, 2::-1]) if channels == 3 else \
        np.ascontiguousarray(arr[:, :, [2, 1, 0]])
    if np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2]):
        return RawImage(np.ascontiguousarray(rgb[:, :, 0]), bits, "L",
                        "RGB-grey" if channels == 3 else "RGBA-grey", fmt, path)
    return RawImage(rgb, bits, "RGB", source_mode, fmt, path)


def image_info(path: str | os.PathLike) -> dict:
    """Size, mode and bit depth of a file (decodes it; used by `datasets inspect`)."""
    img = read_image(path)
    return {"height": img.shape[0], "width": img.shape[1], "mode": img.source_mode,
            "bits": img.bits, "format": img.fmt}


def quantise(f01: np.ndarray, bits: int = 8) -> np.ndarray:
    """float in [0, 1] -> uint8/uint16 by rounding; values are clipped to [0, 1] first."""
    scale = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    return np.rint(np.clip(f01, 0.0, 1.0) * scale).astype(dtype)


def encode_png(data: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8/uint16 array (H x W or H x W x 3 in RGB order)."""
    arr = data[:, :, ::-1] if data.ndim == 3 else data
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


@functools.lru_cache(maxsize=1)
def new_file_mode() -> int:
    """The mode open() would give a new file (0o666 minus the umask). mkstemp creates 0o600
    files, which would make renamed results unreadable to the rest of a group; the umask is
    read from /proc (os.umask would have to change it to read it), else 0o022 is assumed."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path` (with the
    permissions a plain open() would give)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_image(path: str | os.PathLike, data: np.ndarray) -> None:
    """Write a uint8/uint16 array losslessly as PNG, atomically."""
    if data.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"write_image wants uint8/uint16 samples, got {data.dtype}; "
                        "use quantise() on float images")
    atomic_write_bytes(path, encode_png(data))
