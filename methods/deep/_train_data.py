"""Training images for the deep baselines: where they come from, how crops are drawn, and the
synthetic multi-focus pairs IFCNN learns from. NumPy/OpenCV only.

Data specs (`--data`, comma-separated):
- a folder: every image under it, recursively, except in sub-folders whose name starts with
  `fused` (distributed fused outputs are not training images);
- a harness dataset spec `NAME[:ROOT][?k=v]` (`samples` = the embedded data, the default; any
  adapter of bench.datasets): every source image of every sample (a dataset with a `train` split
  contributes that split only). Each image is one training image: both trainers learn from
  single images (DenseFuse: auto-encoding; IFCNN: pairs synthesised from one sharp image).

Images are read as the harness reads them (methods.smc_mamba.data.read_y: BT.601 Y in [0, 1]).
Sampling is stateless, so a resumed run sees the same batches: iteration `it` draws with
`default_rng([seed, it, 7])` `batch` image indices, a random crop of s x s (s = min(crop, the
smallest side among the batch's images)) and independent horizontal/vertical flips.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from bench.datasets.base import DatasetError


def collect_images(specs: Sequence[str]) -> tuple[list[Path], list[str]]:
    """-> (image paths in a fixed order, duplicates dropped; notes for the user)."""
    from bench.imageio import is_image_name
    paths: list[Path] = []
    notes: list[str] = []
    for spec in [s.strip() for s in specs if s and s.strip()]:
        folder = Path(spec).expanduser()
        if folder.is_dir():
            found = sorted(f for f in folder.rglob("*") if f.is_file() and is_image_name(f)
                           and not any(p.lower().startswith("fused")
                                       for p in f.relative_to(folder).parts[:-1]))
            if not found:
                raise DatasetError(f"--data {spec}: no images in that folder")
            paths += found
            continue
        if ("/" in spec or os.sep in spec) and ":" not in spec.split("/")[0]:
            raise DatasetError(f"--data {spec}: no such folder (give a folder of images or a "
                               "dataset spec NAME[:ROOT])")
        from bench.datasets import open_datasets, parse_spec
        explicit_split = bool(parse_spec(spec)[2].get("split"))
        got = 0
        for ds in open_datasets(spec):
            samples = ds.samples
            if "train" in ds.splits and not explicit_split:
                samples = [s for s in samples if s.split == "train"]
                notes.append(f"{ds.name}: using its train split only ({len(samples)} samples)")
            for s in samples:
                paths += list(s.sources)
                got += len(s.sources)
        if not got:
            raise DatasetError(f"--data {spec}: no images found")
    seen: set[str] = set()
    unique = []
    for p in paths:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    if not unique:
        raise DatasetError("no training images: pass --data FOLDER or a dataset spec "
                           "(default: samples, the embedded data)")
    return unique, notes


def fingerprint(paths: Sequence[Path]) -> str:
    """Hash of the sorted '<path>\\t<size in bytes>' lines (paths relative to the data root when
    under it, as methods.smc_mamba.data.fingerprint does)."""
    from bench.hashing import digest_strings
    from methods.smc_mamba.data import data_root, display_path
    root = data_root()
    return digest_strings(sorted({f"{display_path(p, root)}\t{os.path.getsize(p)}" for p in paths}))


class CropSampler:
    """Deterministic batches of s x s Y crops (see the module docstring)."""

    def __init__(self, paths: Sequence[Path], crop: int, batch: int, seed: int,
                 cache_images: int = 512):
        if crop < 8:
            raise DatasetError(f"--crop must be at least 8, got {crop}")
        if batch < 1:
            raise DatasetError(f"--batch-size must be at least 1, got {batch}")
        self.paths, self.crop, self.batch, self.seed = list(paths), int(crop), int(batch), int(seed)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cap = cache_images

    def image(self, index: int) -> np.ndarray:
        from methods.smc_mamba.data import read_y
        if index not in self._cache:
            self._cache[index] = read_y(self.paths[index])
            while len(self._cache) > self._cap:
                self._cache.popitem(last=False)
        self._cache.move_to_end(index)
        return self._cache[index]

    def rng(self, it: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(it), 7])

    def sample(self, it: int) -> tuple[np.ndarray, np.random.Generator]:
        """(B, s, s) float32 crops for iteration `it`, and the rng to draw anything else with."""
        rng = self.rng(it)
        images = [self.image(int(i)) for i in rng.integers(0, len(self.paths), size=self.batch)]
        s = min([self.crop] + [min(y.shape) for y in images])
        out = np.empty((len(images), s, s), np.float32)
        for k, y in enumerate(images):  # one slice per image of the batch, not per pixel
            top = int(rng.integers(0, y.shape[0] - s + 1))
            left = int(rng.integers(0, y.shape[1] - s + 1))
            c = y[top:top + s, left:left + s]
            if rng.random() < 0.5:
                c = c[:, ::-1]
            if rng.random() < 0.5:
                c = c[::-1]
            out[k] = c
        return out, rng


def focus_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random in-focus region in [0, 1]: smooth noise from a coarse grid (3-8 cells a side),
    bicubically upsampled, thresholded at its median (about half the image), edges softened by a
    Gaussian of sigma 1 px (a defocus transition)."""
    import cv2
    h, w = shape
    cells = int(rng.integers(3, 9))
    coarse = rng.random((cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    mask = (field > np.median(field)).astype(np.float32)
    return cv2.GaussianBlur(mask, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)


def multifocus_pair(sharp: np.ndarray, rng: np.random.Generator,
                    sigma: tuple[float, float] = (1.0, 3.0)) -> tuple[np.ndarray, np.ndarray]:
    """Two partially focused versions of a sharp H x W image: a = m*sharp + (1-m)*blur and
    b = (1-m)*sharp + m*blur, blur = Gaussian of sigma ~ U(sigma) (the paper blurs with Gaussian
    filters; it places the focus regions from NYU-D2 depth maps, which are not available here,
    so the regions are random: `focus_mask`)."""
    import cv2
    blur = cv2.GaussianBlur(sharp, (0, 0), float(rng.uniform(*sigma)),
                            borderType=cv2.BORDER_REFLECT)
    m = focus_mask(sharp.shape, rng)
    return m * sharp + (1 - m) * blur, (1 - m) * sharp + m * blur
