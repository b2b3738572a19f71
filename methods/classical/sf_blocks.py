"""SF: block-wise spatial-frequency selection (Li, Kwok, Wang 2001), multi-focus."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from methods.base import register_method

from ._focus import blend, block_spatial_frequency


def block_choice(sf1: np.ndarray, sf2: np.ndarray, threshold: float) -> np.ndarray:
    """Per block: 1 (source 1) where SF1 > SF2 + threshold, 0 where SF2 > SF1 + threshold,
    0.5 (average) otherwise."""
    return np.where(sf1 > sf2 + threshold, 1.0, np.where(sf2 > sf1 + threshold, 0.0, 0.5))


def consistency_check(choice: np.ndarray) -> np.ndarray:
    """Majority filter on the block decisions: a block taken from one source switches to the
    other when more than half of its (up to 8) neighbouring blocks come from the other source.
    Averaged blocks stay averaged. One pass, all blocks judged on the unfiltered decisions."""
    ring = np.ones((3, 3))
    ring[1, 1] = 0
    from1 = ndimage.convolve((choice == 1.0).astype(float), ring, mode="constant")
    from2 = ndimage.convolve((choice == 0.0).astype(float), ring, mode="constant")
    neighbours = ndimage.convolve(np.ones_like(choice), ring, mode="constant")
    out = choice.copy()
    out[(choice == 1.0) & (from2 > neighbours / 2)] = 0.0
    out[(choice == 0.0) & (from1 > neighbours / 2)] = 1.0
    return out


def sf_weight_map(a: np.ndarray, b: np.ndarray, block: int = 32, threshold: float = 1.0,
                  verify: bool = True) -> np.ndarray:
    """Per-pixel weight of source 1 (0, 0.5 or 1, constant over each block) for grey images on
    the 0..255 scale. Images are padded (edge-mirrored) to whole blocks; a block smaller than the
    image is not required (a 16 x 16 image with block 32 is one block)."""
    h, w = a.shape
    ph, pw = -h % block, -w % block
    pad = ((0, ph), (0, pw))
    sf1 = block_spatial_frequency(np.pad(a, pad, mode="symmetric"), block)
    sf2 = block_spatial_frequency(np.pad(b, pad, mode="symmetric"), block)
    choice = block_choice(sf1, sf2, threshold)
    if verify:
        choice = consistency_check(choice)
    return np.kron(choice, np.ones((block, block)))[:h, :w]


@register_method(
    "sf", tasks={"mff"}, kind="classical", baseline=True,
    description="block-wise spatial-frequency selection with a threshold band (averaged) and a "
                "majority-filter consistency check",
    paper="Li, Kwok, Wang: Combination of images with diverse focuses using the spatial "
          "frequency, Information Fusion 2 (2001)",
    year=2001, params={"block": 32, "threshold": 1.0, "verify": True})
def sf_blocks(a: np.ndarray, b: np.ndarray, task: str, block: int = 32, threshold: float = 1.0,
              verify: bool = True) -> np.ndarray:
    """Block SF fusion: split both sources into block x block tiles, compute each tile's spatial
    frequency (on the 0..255 scale), take the tile from the source whose SF is larger by more
    than `threshold`, average the two tiles otherwise, then apply the majority-filter
    consistency check to the tile decisions. Inputs float [0, 1], output float32 [0, 1].

    The paper sweeps block size and threshold; block 32 and threshold 1.0 (0..255 units) are our
    defaults. No reference outputs exist for this method: it is tested for its properties.
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    weight = sf_weight_map(a64 * 255.0, b64 * 255.0, block, threshold, verify)
    return np.clip(blend(weight, a64, b64), 0, 1).astype(np.float32)
