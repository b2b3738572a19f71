"""The embedded datasets: `samples` and `synthetic` open without any download, are written once
to the cache, and read back as ordinary Datasets with labels."""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bench.datasets import DatasetError, open_datasets
from bench.datasets import embedded
from bench.imageio import read_image
from bench.synth import GENERATOR_VERSION


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FUSEBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_samples_open_without_a_folder_and_cover_the_four_tasks(cache):
    datasets = open_datasets("samples")
    assert [(d.name, d.task, len(d.samples)) for d in datasets] == [
        ("samples/ivf", "ivf", 8), ("samples/medical", "medical", 6),
        ("samples/mff", "mff", 6), ("samples/mef", "mef", 6)]
    for d in datasets:
        assert not d.problems
        assert d.root is not None and d.root.is_relative_to(cache / "embedded")
        assert d.root.name.endswith(f"-v{GENERATOR_VERSION}-" + d.root.name.rsplit("-", 1)[1])
        assert (d.root / "meta.json").is_file()
        for s in d.samples:
            assert len(s.sources) == 2 and all(p.is_file() for _, p in s.files())
            a, b = (read_image(p) for p in s.sources)
            assert a.shape == b.shape
    ivf, med, mff, mef = datasets
    assert ivf.modalities == ("ir", "vis") and ivf.det_classes == ("person", "car", "sign")
    assert sum(s.meta["night"] for s in ivf.samples) == 4
    assert all(s.mask is not None and "gt" in s.boxes for s in ivf.samples)
    assert {s.meta["modality"] for s in med.samples} == {"ct", "pet", "spect"}
    for s in med.samples:
        assert s.modalities == ("mri", "other") and s.id.startswith(s.meta["modality"])
        mri, other = (read_image(p) for p in s.sources)
        assert mri.mode == "L"
        assert other.mode == ("L" if s.meta["modality"] == "ct" else "RGB")
    assert all(s.gt is not None for s in mff.samples + mef.samples)
    assert med.modalities == ("mri", "other")
    assert mff.modalities == ("a", "b") and mef.modalities == ("under", "over")


def test_a_second_open_reuses_the_files(cache):
    first = open_datasets("samples")
    before = {d.name: _files(d.root) for d in first}
    prints = [d.fingerprint() for d in first]
    second = open_datasets("samples")
    assert [d.root for d in second] == [d.root for d in first]
    assert {d.name: _files(d.root) for d in second} == before
    assert [d.fingerprint() for d in second] == prints
    leftovers = [p.name for p in (cache / "embedded").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_fingerprints_do_not_depend_on_the_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEBENCH_CACHE", str(tmp_path / "one"))
    a = open_datasets("samples/mef")[0].fingerprint()
    monkeypatch.setenv("FUSEBENCH_CACHE", str(tmp_path / "two"))
    b = open_datasets("samples/mef")[0].fingerprint()
    assert a == b


def test_synthetic_splits_labels_and_masks():
    (d,) = open_datasets("synthetic?n=12&size=128&seed=3")
    assert d.task == "ivf" and len(d.samples) == 12
    assert d.splits == ["train", "val"]
    assert [s.split for s in d.samples] == [embedded.synthetic_split(i, 0.25) for i in range(12)]
    assert d.seg_classes == ("background", "road", "person", "car", "sign")
    assert d.default_label_set == "gt" and len(d.palette) == 5
    assert sum(s.meta["night"] for s in d.samples) == 6
    for s in d.samples:
        boxes, mask = d.read_boxes(s), d.read_mask(s)
        assert mask.shape == (128, 128) and read_image(s.sources[0]).shape == (128, 128)
        assert boxes.shape[1] == 5 and len(boxes) >= 1
        assert np.all((boxes[:, 1:] >= 0) & (boxes[:, 1:] <= 1))
        for cls, cx, cy, w, h in boxes:  # the box holds pixels of its class
            x0, x1 = int(round((cx - w / 2) * 128)), int(round((cx + w / 2) * 128))
            y0, y1 = int(round((cy - h / 2) * 128)), int(round((cy + h / 2) * 128))
            assert (mask[y0:y1, x0:x1] == int(cls) + 2).any()
    (val,) = open_datasets("synthetic?n=12&size=128&seed=3&split=val")
    assert {s.split for s in val.samples} == {"val"}


def test_synthetic_scenes_do_not_depend_on_n():
    (small,) = open_datasets("synthetic?n=3&size=64")
    (large,) = open_datasets("synthetic?n=5&size=64")
    assert small.root != large.root
    for s, t in zip(small.samples, large.samples[:3]):
        assert s.id == t.id and s.split == t.split
        assert np.array_equal(read_image(s.sources[1]).data, read_image(t.sources[1]).data)


def test_synthetic_split_fraction():
    splits = [embedded.synthetic_split(i, 0.25) for i in range(160)]
    assert abs(splits.count("val") - 40) <= 2
    assert all(embedded.synthetic_split(i, 0.0) == "train" for i in range(20))


@pytest.mark.parametrize("spec", ["synthetic?n=0", "synthetic?size=abc", "synthetic?night=2",
                                  "synthetic?val=1", "synthetic?colour=1", "samples?n=3",
                                  "samples/ivf?seed=1"])
def test_bad_options_are_refused(spec):
    with pytest.raises(DatasetError):
        open_datasets(spec)


def test_a_lost_race_keeps_the_winner(cache):
    """Two builders of one folder: the one that renames first wins, the other's copy goes."""
    calls = []

    def winner(folder: Path) -> dict:
        (folder / "x.txt").write_text("winner")
        calls.append("winner")
        return {"a": {}}

    def loser(folder: Path) -> dict:
        (folder / "x.txt").write_text("loser")
        embedded.materialise("race", {"k": 1}, winner)  # finishes while we are still building
        calls.append("loser")
        return {"b": {}}

    target, meta = embedded.materialise("race", {"k": 1}, loser)
    assert calls == ["winner", "loser"]
    assert (target / "x.txt").read_text() == "winner" and list(meta["samples"]) == ["a"]
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    again, _ = embedded.materialise("race", {"k": 1}, loser)
    assert again == target and calls == ["winner", "loser"]


def test_debris_without_a_marker_is_replaced(cache):
    target, _ = embedded.materialise("debris", {}, lambda f: {})
    (target / "meta.json").unlink()
    (target / "junk").write_text("half written")
    rebuilt, meta = embedded.materialise("debris", {}, lambda f: {"z": {}})
    assert rebuilt == target and not (target / "junk").exists() and list(meta["samples"]) == ["z"]


def _open_in_child(spec: str) -> tuple[str, str]:
    (d,) = open_datasets(spec)
    return str(d.root), d.fingerprint()


def test_two_processes_materialising_at_once(cache):
    spec = "synthetic?n=4&size=64&seed=9"
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(_open_in_child, [spec, spec]))
    assert results[0] == results[1]
    root = Path(results[0][0])
    assert json.loads((root / "meta.json").read_text())["params"]["n"] == 4
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".")] == []
    assert len(list((root / "vi").iterdir())) == 4
    assert os.environ["FUSEBENCH_CACHE"] == str(cache)
