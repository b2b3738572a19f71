"""The methods API: built-in rules, spec parameters, output checks, tiling, folder methods."""
import numpy as np
import pytest

from bench.datasets.base import Sample
from bench.imageio import write_image
from bench.registry import RegistryError
from methods.base import MethodError, MethodUnavailable, checked_output, fuse_tiled, resolve

RNG = np.random.default_rng(2)
A = RNG.random((37, 53), dtype=np.float32)
B = RNG.random((37, 53), dtype=np.float32)


def test_average_and_max_abs():
    assert np.allclose(resolve("average").fuse_pair(A, B, "ivf"), (A + B) / 2)
    assert np.array_equal(resolve("max").fuse_pair(A, B, "ivf"), np.maximum(A, B))
    d1, d2 = np.array([[-0.5, 0.2]]), np.array([[0.3, -0.4]])
    assert resolve("max-abs").fuse_pair(d1, d2, "ivf").tolist() == [[-0.5, -0.4]]


def test_stack_folds_pairwise():
    c = RNG.random(A.shape, dtype=np.float32)
    out = resolve("average").fuse_stack([A, B, c], "mef")
    assert np.allclose(out, ((A + B) / 2 + c) / 2)


def test_unavailable_and_unknown_methods_say_why():
    with pytest.raises(MethodUnavailable, match="weights file .*nonexistent.pt does not exist"):
        resolve("smc?weights=/nonexistent.pt")
    with pytest.raises(RegistryError, match="unknown method 'nope'"):
        resolve("nope")
    with pytest.raises(RegistryError, match="has no parameter"):
        resolve("average?radius=3")


def test_checked_output_rejects_bad_results():
    with pytest.raises(MethodError, match="shape"):
        checked_output(A[1:], A.shape, "m")
    bad = A.copy()
    bad[3, 4] = np.nan
    with pytest.raises(MethodError, match="non-finite"):
        checked_output(bad, A.shape, "m")
    with pytest.raises(MethodError, match="not an array"):
        checked_output(object(), A.shape, "m")
    out = checked_output((A * 3 - 1)[..., None].astype(np.float64), A.shape, "m")
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1


@pytest.mark.parametrize("shape", [(37, 53), (100, 130), (16, 16), (65, 33)])
def test_tiling_is_exact_for_pixelwise_rules(shape):
    a = RNG.random(shape, dtype=np.float32)
    b = RNG.random(shape, dtype=np.float32)
    got = fuse_tiled(lambda x, y, t: (x + y) / 2, a, b, "ivf", tile=24, overlap=6)
    assert np.allclose(got, (a + b) / 2, atol=1e-6)


def test_tiling_near_exact_for_local_filters():
    import cv2
    a = RNG.random((120, 150), dtype=np.float32)
    b = RNG.random((120, 150), dtype=np.float32)

    def blur_max(x, y, t):
        return cv2.blur(np.maximum(x, y), (3, 3), borderType=cv2.BORDER_REFLECT)

    full = blur_max(a, b, "ivf")
    tiled = fuse_tiled(blur_max, a, b, "ivf", tile=48, overlap=12)
    inner = (slice(2, -2), slice(2, -2))
    assert np.abs(tiled - full)[inner].max() < 0.05


def test_method_with_tile_hook_is_tiled(monkeypatch):
    calls = []

    class Tiled:
        tile, tile_overlap = 32, 8

        def fuse(self, a, b, task):
            calls.append(a.shape)
            return (a + b) / 2

    from bench.registry import METHODS
    from methods.base import register_method
    if "tiled-test" not in METHODS:
        register_method("tiled-test", tasks={"ivf"}, description="test")(Tiled)
    m = resolve("tiled-test")
    out = m.fuse_pair(A, B, "ivf")
    assert np.allclose(out, (A + B) / 2, atol=1e-6) and all(max(s) <= 32 for s in calls)
    assert len(calls) == 4


def test_folder_method_lookup_and_errors(tmp_path):
    write_image(tmp_path / "01.png", np.zeros((4, 4), np.uint8))
    write_image(tmp_path / "IFCNN-MAX-scene2.png", np.zeros((4, 4), np.uint8))
    m = resolve(f"folder:Mine={tmp_path}")
    assert m.precomputed and m.name == "Mine"
    s1 = Sample("01", (tmp_path / "x" / "01.png", tmp_path / "y" / "01.png"), ("ir", "vis"))
    assert m.impl.fused_path(s1).name == "01.png"
    s_sub = Sample("MRI_CT/01", (tmp_path / "a.png", tmp_path / "b.png"), ("mri", "ct"))
    assert m.impl.fused_path(s_sub).name == "01.png"
    missing = Sample("02", (tmp_path / "02.png", tmp_path / "02.png"), ("ir", "vis"))
    with pytest.raises(FileNotFoundError, match="no fused image for sample '02'"):
        m.impl.fused_path(missing)
    pat = resolve(f"folder:IFCNN={tmp_path}?pattern=IFCNN-MAX-{{id}}")
    s2 = Sample("scene2", (tmp_path / "a.png", tmp_path / "b.png"), ("ir", "vis"))
    assert pat.impl.fused_path(s2).name == "IFCNN-MAX-scene2.png"
    with pytest.raises(RegistryError, match="not a folder"):
        resolve(f"folder:X={tmp_path / 'absent'}")
    with pytest.raises(RegistryError, match="folder:NAME=DIR"):
        resolve("folder:oops")


def test_cache_identity_changes_with_parameters():
    from methods.base import register_method
    from bench.registry import METHODS
    if "scaled-test" not in METHODS:
        @register_method("scaled-test", tasks={"ivf"}, description="test")
        def scaled(a, b, task, k=0.5):
            return a * k + b * (1 - k)
    m1, m2 = resolve("scaled-test"), resolve("scaled-test?k=0.25")
    assert m1.cache_identity() != m2.cache_identity()
    assert np.allclose(m2.fuse_pair(A, B, "ivf"), A * 0.25 + B * 0.75)
    assert m2.name == "scaled-test?k=0.25"
