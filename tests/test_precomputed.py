"""The `precomputed` method group: distributed fused outputs register per dataset, for the shared
data (VIFB, MFIF, TNO, IFCNN's results) and for any user folder with the same layout."""
from __future__ import annotations

import numpy as np

import methods  # noqa: F401  (registers the group)
from bench.datasets import open_datasets
from bench.imageio import is_image_name, read_image
from bench.registry import METHODS
from bench.runner import RunConfig, run
from bench.store import Store
from methods.base import resolve
from methods.precomputed import expansion_context, folder_specs, shared_precomputed
from tests.fixtures import save, smooth_image

VIFB_25 = {"ADF", "CBF", "CNN", "DLF", "FPDE", "GFCE", "GFF", "GTF", "HMSD_GF", "Hybrid_MSD",
           "IFCNN", "IFEVIP", "LatLRR", "LP_SR", "MGFF", "MSVD", "NSCT_SR", "ResNet", "RP_SR",
           "TIF", "VSMWLS", "SeAFusion", "SwinFusion", "U2Fusion", "YDTR"}
MFIF_18 = {"CBF", "DCT_Corr", "DSIFT", "FusionDN", "GCF", "GD", "GFDF", "GFF", "IFCNN", "IFM",
           "MFF-GAN", "MGFF", "MST_SR", "MWGF", "NSCT_SR", "QB", "RP_SR", "U2Fusion"}


def expand(ds) -> list[str]:
    names, _ = METHODS.expand(["precomputed"], expansion_context(ds))
    return names


def names_of(specs: list[str]) -> set[str]:
    return {s.split(":", 1)[1].split("=", 1)[0] for s in specs}


def folders_with_images(fused_dir) -> set[str]:
    return {d.name for d in fused_dir.iterdir()
            if d.is_dir() and any(is_image_name(f) for f in d.iterdir())}


def test_vifb_expands_to_every_method_folder(shared_data):
    root = shared_data / "ivf" / "VIFB"
    (ds,) = open_datasets(f"vifb:{root}")
    specs = expand(ds)
    on_disk = folders_with_images(root / "fused")
    assert len(on_disk) == 25 and on_disk == VIFB_25  # every one of the 25 has images here
    assert names_of(specs) == VIFB_25 and len(specs) == 25
    assert all(s.startswith("folder:") for s in specs)
    for spec in specs:  # each spec resolves to a folder method that finds every scene
        method = resolve(spec)
        assert method.precomputed
        assert all(method.impl.fused_path(s).parent == root / "fused" / method.name
                   for s in ds.samples)


def test_mfif_and_tno_expand(shared_data):
    mfif = {d.name: d for d in open_datasets(f"mfif:{shared_data / 'mff' / 'MFIF_benchmark'}")}
    assert names_of(expand(mfif["lytro"])) == MFIF_18
    assert names_of(expand(mfif["mffw"])) == MFIF_18
    assert expand(mfif["mfi-whu"]) == []  # the shared subset has no MFI-WHU outputs
    tno_root = shared_data / "ivf" / "TNO_ImageFusion"
    (tno,) = open_datasets(f"tno:{tno_root}")
    assert names_of(expand(tno)) == folders_with_images(tno_root / "fused") \
        == {"DenseFuse", "SeAFusion", "U2Fusion"}


def test_flat_named_outputs_carry_their_pattern(shared_data):
    (ds,) = open_datasets(f"pairs:{shared_data / 'ivf' / 'IFCNN_IVDataset'}"
                          "?suffixes=_IR,_Vis&task=ivf")
    specs = expand(ds)
    assert names_of(specs) == {"IFCNN-MAX", "IFCNN-MEAN", "IFCNN-SUM"}
    spec = next(s for s in specs if "IFCNN-MAX=" in s)
    assert spec.endswith("?pattern=IFCNN-MAX-IV-{id}")
    sample = next(s for s in ds.samples if s.id == "Camp")
    assert resolve(spec).impl.fused_path(sample).name == "IFCNN-MAX-IV-Camp.png"


def test_no_outputs_gives_a_short_note(shared_data):
    (ds,) = open_datasets(f"msrs:{shared_data / 'ivf' / 'MSRS_test_subset'}")
    names, notes = METHODS.expand(["precomputed"], expansion_context(ds))
    assert names == []
    assert any("no registered method fits task=ivf, dataset=msrs" in n for n in notes), notes
    assert METHODS.expand(["precomputed"], {"task": "ivf"})[0] == []  # no dataset, no members


def test_runner_fuses_and_scores_one_vifb_sample(shared_data, tmp_path):
    root = shared_data / "ivf" / "VIFB"
    cfg = RunConfig(methods=["precomputed"], datasets=[f"vifb:{root}"], metrics=["EN", "SD"],
                    limit=1, workers=0)
    result = run(cfg, home=tmp_path / "runs", progress=False, quiet=True)
    with Store(result.store_path) as st:
        recs = st.records(result.run_id)
    fuse = [r for r in recs if r.metric == "fuse"]
    assert {r.method for r in fuse} == VIFB_25 and all(r.ok for r in fuse)
    sample = fuse[0].sample
    sd = {r.method: r.value for r in recs if r.metric == "SD" and r.ok}
    en = {r.method: r.value for r in recs if r.metric == "EN" and r.ok}
    assert set(sd) == set(en) == VIFB_25
    assert all(0 < v <= 8 for v in en.values()) and len({round(v, 6) for v in sd.values()}) > 20
    # the run exposes the distributed file itself, byte for byte
    linked = result.run_dir / "fused" / "vifb" / "ADF" / f"{sample}.jpg"
    assert linked.read_bytes() == (root / "fused" / "ADF" / f"{sample}.jpg").read_bytes()


def test_user_folder_registers_the_same_way(tmp_path):
    root = tmp_path / "mine"
    for i in (1, 2):
        save(root / "ir" / f"{i:02d}.png", smooth_image(i))
        save(root / "vi" / f"{i:02d}.png", smooth_image(10 + i, colour=True))
        save(root / "fused" / "MyFusion" / f"{i:02d}.png", smooth_image(20 + i))
    (ds,) = open_datasets(f"tno:{root}")
    assert folder_specs(ds) == [f"folder:MyFusion={root / 'fused' / 'MyFusion'}"]
    cfg = RunConfig(methods=["precomputed", "average"], datasets=[f"tno:{root}"],
                    metrics=["SD"], workers=0)
    result = run(cfg, home=tmp_path / "runs", progress=False, quiet=True)
    with Store(result.store_path) as st:
        recs = st.records(result.run_id)
    sd = {(r.method, r.sample): r.value for r in recs if r.metric == "SD" and r.ok}
    assert set(sd) == {(m, s) for m in ("MyFusion", "average") for s in ("01", "02")}
    expected = read_image(root / "fused" / "MyFusion" / "01.png").data.astype(np.float64).std()
    assert abs(sd[("MyFusion", "01")] - expected) < 1e-6 * max(1.0, expected)


def test_shared_listing(shared_data):
    found = {name: found_names for _, name, found_names in shared_precomputed(shared_data)}
    assert set(found["vifb"]) == VIFB_25 and set(found["lytro"]) == MFIF_18
    assert set(found["tno"]) == {"DenseFuse", "SeAFusion", "U2Fusion"}
    from bench.listing import methods_table
    text = methods_table()
    assert "Precomputed outputs in the shared data" in text and "SwinFusion" in text
