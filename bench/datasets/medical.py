"""Medical (MRI + CT/PET/SPECT) adapters.

Sources are (mri, ct|pet|spect) in that order; ids are file stems; split 'all' unless the layout
has split folders. Folder names match case-insensitively (`mri/` = `MRI/`). PET and SPECT images
are pseudo-colour RGB; CT and MRI are usually stored as RGB-but-grey (read as grey by imageio).
"""
from __future__ import annotations

from pathlib import Path

from ..registry import DATASETS
from .base import DatasetError, find_dir, pair_by_stem
from .generic import choice, finish, layout_error, unique_ids, with_precomputed
from .ivf import SPLITS

PARTNERS = ("CT", "PET", "SPECT")
HARVARD_LAYOUT = ("ROOT/MRI_CT/{MRI,CT}/, ROOT/MRI_PET/{MRI,PET}/, ROOT/MRI_SPECT/{MRI,SPECT}/ "
                  "(any of them); or ROOT itself holding MRI/ and one of CT/, PET/, SPECT/")


def _subsets(root: Path) -> list[tuple[str, Path, Path]]:
    """(partner, mri folder, partner folder) for every subset under root or in root itself."""
    found = []
    for partner in PARTNERS:
        sub = find_dir(root, f"MRI_{partner}")
        if sub is not None:
            mri, other = find_dir(sub, "MRI"), find_dir(sub, partner)
            if mri and other:
                found.append((partner, mri, other))
    if not found and (mri := find_dir(root, "MRI")) is not None:
        found = [(p, mri, d) for p in PARTNERS if (d := find_dir(root, p)) is not None]
    return found


@DATASETS.register(
    "harvard", task="medical",
    description="Harvard Whole Brain Atlas pairs as curated by CDDFuse: MRI-CT 21, MRI-PET 42, "
                "MRI-SPECT 73 (one dataset per subset)",
    layout=HARVARD_LAYOUT,
    options={"subset": "keep one subset: CT, PET or SPECT (default: every subset present)"},
    source="Johnson & Becker, The Whole Brain Atlas (Harvard Medical School, "
           "www.med.harvard.edu/AANLIB; website only, no canonical package). Curated 256x256 "
           "test pairs: github.com/Zhaozixiang1228/MMIF-CDDFuse, test_img/MRI_CT, MRI_PET, "
           "MRI_SPECT (point at test_img to get all three, or at one MRI_* folder). No licence "
           "stated; cite CDDFuse and the atlas. Shared: harvard:medical/MRI_CT_CDDFuse (and "
           "MRI_PET_CDDFuse, MRI_SPECT_CDDFuse); U2Fusion's test_imgs/medical (mri/, pet/) works too",
    modalities=("mri", "ct"))
def open_harvard(root: Path, options: dict[str, str]) -> list:
    """One Dataset per subset, named 'harvard/MRI_CT', 'harvard/MRI_PET', 'harvard/MRI_SPECT'."""
    subset = choice(options, "subset", PARTNERS, None, "harvard")
    found = _subsets(root)
    if not found:
        raise layout_error("harvard", root, HARVARD_LAYOUT)
    if subset:
        have = [p for p, _, _ in found]
        found = [f for f in found if f[0] == subset]
        if not found:
            raise DatasetError(f"dataset harvard: subset={subset} but {root} holds only "
                               f"{', '.join('MRI_' + p for p in have)}")
    out = []
    for partner, mri, other in found:
        mods = ("mri", partner.lower())
        samples, problems = pair_by_stem(dict(zip(mods, (mri, other))))
        out.append(finish(f"harvard/MRI_{partner}", "medical", root, mods, samples, problems,
                          HARVARD_LAYOUT, description=f"Harvard atlas MRI-{partner} pairs"))
    return out


DRMF_MIF_LAYOUT = "ROOT/{train,val}/{MRI,CT}/ (or PET/SPECT in place of CT); ROOT/fused/DRMF/"


@DATASETS.register(
    "drmf-mif", task="medical",
    description="DRMF's medical sample data: MRI-CT pairs in train/val splits",
    layout=DRMF_MIF_LAYOUT, options={},
    source="Tang et al., DRMF (ACM MM 2024); github.com/Linfeng-Tang/DRMF, data/MIF_norm (point "
           "at it) and Results/MIF_norm (place as ROOT/fused/DRMF). 256x256 L PNG. No licence "
           "stated. Shared: drmf-mif:medical/DRMF_MIF_norm",
    modalities=("mri", "ct"))
def open_drmf_mif(root: Path, options: dict[str, str]) -> list:
    """DRMF MIF data: splits from train/ and val/, sources (mri, ct)."""
    samples, problems, mods = [], [], None
    for split in SPLITS:
        d = find_dir(root, split)
        if d is None or find_dir(d, "MRI") is None:
            continue
        partner = next((p for p in PARTNERS if find_dir(d, p) is not None), None)
        if partner is None:
            continue
        mods = mods or ("mri", partner.lower())
        s, p = pair_by_stem({mods[0]: find_dir(d, "MRI"), mods[1]: find_dir(d, partner)},
                            split=split)
        samples += s
        problems += p
    if mods is None:
        raise layout_error("drmf-mif", root, DRMF_MIF_LAYOUT)
    ds = finish("drmf-mif", "medical", root, mods, unique_ids(samples), problems, DRMF_MIF_LAYOUT,
                description="DRMF MRI-CT data")
    return [with_precomputed(ds, root)]
