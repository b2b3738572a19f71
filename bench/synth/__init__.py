"""Deterministic generators for the embedded data: pure functions, seed in, arrays + labels out.

- `ivf_scenes`: street scenes at night and by day, infrared + visible, boxes and class masks.
- `medical`: registered MRI-like / CT-like pairs and pseudo-colour PET- and SPECT-like images.
- `photo_pairs`: multi-focus and multi-exposure pairs with ground truth, from shipped photos.
- `textures`: the shipped photos and textures they draw on, smooth noise, blur.

Every generator takes its own seed (an int or a tuple of ints) and draws from a local
`numpy.random.Generator` (never the global RNG); it reads only files that ship inside installed
packages (scikit-image, pydicom). Arithmetic is float64 numpy/scipy, shapes are rasterised by
OpenCV in integer arithmetic, so a seed gives the same pixels on any machine with the pinned
library versions (checked with numpy's and OpenCV's SIMD dispatch switched off). Bump
GENERATOR_VERSION whenever any generator's output changes: the materialised copies in the cache
are keyed on it.
"""

GENERATOR_VERSION = 1
