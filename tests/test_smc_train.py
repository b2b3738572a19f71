"""SMC-Mamba training (methods/smc_mamba/train.py, data.py, `bench train smc`) and the shipped
training splits. Runs are tiny (16x16 crops, a few iterations); most use a small stand-in
network with SMCMamba's outputs, and one runs the real model at a tiny width."""
from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.datasets.base import DatasetError
from methods.smc_mamba import data as tdata
from methods.smc_mamba import train as T
from methods.smc_mamba.config import SMCConfig
from tests.fixtures import make_pairs, pairs_spec, save, smooth_image


def tiny_config(**kw) -> SMCConfig:
    return SMCConfig(channels=2, expert_dim=6, head_hidden=3, **kw)


class StandIn(nn.Module):
    """SMCMamba's interface (outputs, noisy top-k gate drawing from torch's global RNG)."""

    def __init__(self, cfg):
        super().__init__()
        cm, n = cfg.feat_channels, cfg.num_experts
        self.k = cfg.top_k
        self.enc = nn.Conv2d(1, cm, 3, padding=1)
        self.experts = nn.ModuleList(nn.Conv2d(2 * cm, cm, 1) for _ in range(n))
        self.w_g = nn.Linear(2 * cm, n, bias=False)
        self.w_noise = nn.Linear(2 * cm, n, bias=False)
        self.head = nn.Conv2d(cm, 1, 3, padding=1)

    def forward(self, i1, i2):
        f1, f2 = torch.tanh(self.enc(i1)), torch.tanh(self.enc(i2))
        fc = torch.cat([f1, f2], 1)
        g = fc.mean((2, 3)) + fc.amax((2, 3))
        logits = self.w_g(g)
        if self.training:
            logits = logits + torch.randn_like(logits) * F.softplus(self.w_noise(g))
        top = logits.topk(self.k, dim=1)
        w = torch.full_like(logits, -math.inf).scatter(1, top.indices, top.values).softmax(1)
        experts = [e(fc) for e in self.experts]
        ff = sum(w[:, i, None, None, None] * e for i, e in enumerate(experts))
        return SimpleNamespace(fused=torch.sigmoid(self.head(ff)), feats=(f1, f2), fused_feat=ff,
                               expert_outputs=experts if self.training else None,
                               gate_weights=w, gate_logits=logits)


def run(tmp_path, spec, out="out", **kw):
    opts = T.TrainOptions(task=kw.pop("task", "ivf"), data=[spec], out=str(tmp_path / out),
                          crop=kw.pop("crop", 16), iters=kw.pop("iters", 3), seed=kw.pop("seed", 0),
                          log_every=1, ckpt_every=kw.pop("ckpt_every", 2), progress=False,
                          device="cpu", command="test", **kw)
    return T.train(opts, model_factory=StandIn, config=tiny_config(), log=lambda m: None)


@pytest.fixture
def pairs(tmp_path):
    return pairs_spec(make_pairs(tmp_path / "d", n=4))


# ------------------------------------------------------------------------------ schedule

def test_lr_schedule_values():
    assert T.lr_at(0) == pytest.approx(2e-4)
    assert T.lr_at(500) == pytest.approx(1.5e-4)           # 2e-4 * (0.75 + 0.25 cos(pi/2))
    assert T.lr_at(1000) == pytest.approx(1e-4)            # halved, window restarts
    assert T.lr_at(1500) == pytest.approx(0.75e-4)
    assert T.lr_at(999) == pytest.approx(2e-4 * (0.75 + 0.25 * math.cos(math.pi * 0.999)))
    assert T.lr_at(20000) == 1e-6 and T.lr_at(10 ** 6) == 1e-6   # floor
    values = [T.lr_at(i) for i in range(0, 12000, 50)]
    assert all(a >= b for a, b in zip(values, values[1:]))


# ------------------------------------------------------------------------------ training runs

def test_training_writes_checkpoint_log_and_weights(tmp_path, pairs):
    res = run(tmp_path, pairs, iters=3)
    out = res.out_dir
    rows = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["it"] for r in rows] == [1, 2, 3]
    for key in ("lr", "total", "fcl", "pcl", "mccm", "wb", "div", "cons", "ssim", "int",
                "seconds"):
        assert key in rows[0] and math.isfinite(rows[0][key])
    assert rows[0]["lr"] == pytest.approx(2e-4)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["iteration"] == 3 and ckpt["data_fingerprint"] == res.fingerprint
    assert ckpt["config"] == tiny_config().to_dict()
    payload = torch.load(res.weights, weights_only=True)
    assert payload["format"] == "fusebench-smc-weights/1"
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())
    meta = payload["meta"]
    assert meta["command"] == "test" and meta["seed"] == 0 and meta["iterations"] == 3
    assert meta["crop"] == 16 and meta["data_fingerprint"] == res.fingerprint
    assert meta["data_pairs"] == 4 and meta["data_files"] == 8
    json.dumps(meta)                                   # plain JSON
    assert SMCConfig.from_dict(payload["config"]) == tiny_config()
    assert json.loads((out / "weights.json").read_text())["meta"]["seed"] == 0
    from methods.smc_mamba.weights import load_weights
    state, cfg, meta2 = load_weights(res.weights)
    assert cfg == tiny_config() and meta2["iterations"] == 3


def test_resume_gives_the_same_weights(tmp_path, pairs):
    # --epochs fixes T of lambda(t); without it T = iters / n_pairs would differ between the halves
    straight = run(tmp_path, pairs, out="a", iters=4, ckpt_every=4, epochs=1.0)
    run(tmp_path, pairs, out="b", iters=2, ckpt_every=2, epochs=1.0)
    resumed = run(tmp_path, pairs, out="b", iters=4, ckpt_every=2, epochs=1.0, resume=True)
    a = torch.load(straight.weights, weights_only=True)["state_dict"]
    b = torch.load(resumed.weights, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(l) for l in (resumed.log).read_text().splitlines()]
    assert [r["it"] for r in rows] == [1, 2, 3, 4]
    ra = [json.loads(l) for l in straight.log.read_text().splitlines()]
    assert [r["total"] for r in ra] == [r["total"] for r in rows]


def test_existing_checkpoint_needs_resume_and_matching_options(tmp_path, pairs):
    run(tmp_path, pairs, iters=2)
    with pytest.raises(DatasetError, match="--resume"):
        run(tmp_path, pairs, iters=3)
    with pytest.raises(DatasetError, match="seed"):
        run(tmp_path, pairs, iters=3, seed=1, resume=True)


def test_clear_errors_for_missing_or_empty_data(tmp_path, capsys):
    assert T.main(["--task", "ivf", "--no-progress"]) == 2
    assert "no training data" in capsys.readouterr().err
    assert T.main(["--task", "ivf", "--data", f"roadscene:{tmp_path / 'nope'}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("# task: ivf\n")
    assert T.main(["--task", "ivf", "--split-file", str(empty)]) == 2
    assert "lists no pairs" in capsys.readouterr().err
    assert T.main(["--task", "ivf", "--data", "split:nosuch"]) == 2
    assert "not found" in capsys.readouterr().err
    listed = tmp_path / "listed.txt"
    listed.write_text("# task: ivf\na/ir.png\ta/vi.png\n")
    assert T.main(["--task", "ivf", "--split-file", str(listed), "--data-root", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err
    assert T.main(["--task", "mef", "--data", pairs_spec(make_pairs(tmp_path / "p", 1))]) == 2
    assert "ivf dataset" in capsys.readouterr().err


def test_bench_train_cli_runs(tmp_path, pairs, monkeypatch, capsys):
    from bench.cli import main
    monkeypatch.setattr(T, "_make_model", StandIn)
    monkeypatch.setattr(T, "_make_config", lambda opts: tiny_config())
    out = tmp_path / "cli"
    assert main(["train", "smc", "--task", "ivf", "--data", pairs, "--iters", "2", "--crop", "16",
                 "--out", str(out), "--no-progress", "--device", "cpu", "--seed", "3"]) == 0
    meta = torch.load(out / "weights.pt", weights_only=True)["meta"]
    words = shlex.split(meta["command"])
    assert words[:7] == ["python", "-m", "bench", "train", "smc", "--task", "ivf"]
    assert words[8] == pairs and words[-2:] == ["--seed", "3"]
    assert meta["seed"] == 3
    assert main(["train", "smc"]) == 2
    assert "--task" in capsys.readouterr().err
    assert main(["train", "nosuch", "--task", "ivf"]) == 2
    assert "no trainer" in capsys.readouterr().err


def test_real_model_trains_and_resumes(tmp_path):
    """The real SMCMamba at a tiny width: 2 iterations straight == 1 + resume 1."""
    pytest.importorskip("methods.smc_mamba.model")
    from methods.smc_mamba.model import SMCMamba
    spec = pairs_spec(make_pairs(tmp_path / "d", n=2, shape=(12, 12)))
    cfg = tiny_config(d_state=4, mafe_expand=1)

    def go(out, iters, resume=False):
        opts = T.TrainOptions(task="ivf", data=[spec], out=str(tmp_path / out), crop=8,
                              iters=iters, epochs=1.0, log_every=1, ckpt_every=1, progress=False,
                              device="cpu", resume=resume)
        return T.train(opts, model_factory=SMCMamba, config=cfg, log=lambda m: None)

    a = go("a", 2)
    go("b", 1)
    b = go("b", 2, resume=True)
    sa = torch.load(a.weights, weights_only=True)["state_dict"]
    sb = torch.load(b.weights, weights_only=True)["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert math.isfinite(a.terms["total"]) and a.terms["mccm"] != 0.0


# ------------------------------------------------------------------------------ data

def test_mismatched_pair_is_skipped_with_a_warning(tmp_path):
    root = make_pairs(tmp_path / "d", n=3)
    save(root / "vi" / "p01.png", smooth_image(9, (20, 20), colour=True))
    pairs, _ = tdata.resolve_training_data([pairs_spec(root)], "ivf", tmp_path)
    with pytest.warns(UserWarning, match="p01.png"):
        kept = tdata.check_sizes(pairs)
    assert len(kept) == 2


def test_train_split_of_a_dataset_is_used_by_default(tmp_path):
    make_pairs(tmp_path / "msrs" / "train", n=3)
    make_pairs(tmp_path / "msrs" / "test", n=2, seed=50)
    pairs, notes = tdata.resolve_training_data([f"msrs:{tmp_path / 'msrs'}"], "ivf", tmp_path)
    assert len(pairs) == 3 and any("train split only" in n for n in notes)
    pairs, _ = tdata.resolve_training_data([f"msrs:{tmp_path / 'msrs'}?split=all"], "ivf", tmp_path)
    assert len(pairs) == 5


def test_stack_gives_darkest_and_brightest(tmp_path):
    paths = []
    for i, v in enumerate((120, 20, 230, 90)):
        paths.append(save(tmp_path / f"f{i}.png", np.full((8, 8), v, np.uint8)))
    a, b = tdata.load_pair(tdata.TrainPair("s", tuple(paths), "test"))
    assert a.mean() == pytest.approx(20 / 255) and b.mean() == pytest.approx(230 / 255)


def test_sampler_is_deterministic_and_crops(tmp_path):
    pairs, _ = tdata.resolve_training_data([pairs_spec(make_pairs(tmp_path / "d", n=3))], "ivf")
    s1, s2 = tdata.PairSampler(pairs, 16, seed=5), tdata.PairSampler(pairs, 16, seed=5)
    for it in (0, 4, 2, 7):
        a1, b1, id1 = s1.sample(it)
        a2, b2, id2 = s2.sample(it)
        assert id1 == id2 and np.array_equal(a1, a2) and np.array_equal(b1, b2)
        assert a1.shape == (16, 16) and a1.dtype == np.float32
    assert sorted(s1.index_at(i) for i in range(3)) == [0, 1, 2]     # one epoch visits all
    big = tdata.PairSampler(pairs, 64, seed=0)
    assert big.sample(0)[0].shape == (24, 32)                         # crop capped at the image


def test_fingerprint_tracks_paths_and_sizes(tmp_path):
    root = make_pairs(tmp_path / "d", n=2)
    pairs, _ = tdata.resolve_training_data([pairs_spec(root)], "ivf", tmp_path)
    fp, n_files = tdata.fingerprint(pairs, tmp_path)
    assert n_files == 4 and fp == tdata.fingerprint(list(reversed(pairs)), tmp_path)[0]
    with open(root / "ir" / "p00.png", "ab") as fh:
        fh.write(b"\0")
    assert tdata.fingerprint(pairs, tmp_path)[0] != fp


# ------------------------------------------------------------------------------ shipped splits

SPLIT_FILES = sorted(tdata.SPLITS_DIR.glob("*_train.txt"))
HELDOUT_FILES = sorted(tdata.SPLITS_DIR.glob("*_heldout.txt"))
# what the default benchmark reports on, in any spelling a path could carry
BENCHMARK_PATTERNS = ("tno", "vifb", "msrs_test", "lytro", "mffw", "/val/", "/test", "fused",
                      "ir_warp", "tardal", "ifcnn_ivdataset", "u2fusion_mff", "triple")


def _lines(path: Path) -> list[list[str]]:
    return [l.split("\t") for l in path.read_text(encoding="utf-8").splitlines()
            if l.strip() and not l.startswith("#")]


def test_shipped_splits_exist_and_parse():
    names = {p.name for p in SPLIT_FILES}
    assert {"ivf_train.txt", "medical_train.txt", "mff_train.txt", "mef_train.txt"} <= names
    assert {"medical_heldout.txt", "mef_heldout.txt"} <= {p.name for p in HELDOUT_FILES}
    assert (tdata.SPLITS_DIR / "README.md").is_file()
    for path in SPLIT_FILES + HELDOUT_FILES:
        task = path.name.split("_")[0]
        assert f"# task: {task}" in path.read_text(), path
        rows = _lines(path)
        assert rows, path
        for row in rows:
            assert len(row) >= 2 and all(p.startswith(f"{task}/") for p in row), (path, row)


def test_shipped_splits_never_hold_benchmark_or_heldout_images():
    held = {p for f in HELDOUT_FILES for row in _lines(f) for p in row}
    for path in SPLIT_FILES:
        for row in _lines(path):
            for p in row:
                low = p.lower()
                assert not any(pat in low for pat in BENCHMARK_PATTERNS), (path.name, p)
                assert not any(low.startswith(pat.lower()) for pat in tdata.BENCHMARK_EXCLUDED)
                assert p not in held, (path.name, p)
    # MEFB scenes: a held-out scene never appears in training under any file name
    held_scenes = {p.split("/")[3] for row in _lines(tdata.SPLITS_DIR / "mef_heldout.txt")
                   for p in row if p.startswith("mef/MEFB/")}
    train_scenes = {p.split("/")[3] for row in _lines(tdata.SPLITS_DIR / "mef_train.txt")
                    for p in row if p.startswith("mef/MEFB/")}
    assert held_scenes and train_scenes and not held_scenes & train_scenes
    # the per-subset medical files are parts of the combined one
    combined = {tuple(r) for r in _lines(tdata.SPLITS_DIR / "medical_train.txt")}
    for sub in ("ct", "pet", "spect"):
        assert {tuple(r) for r in _lines(tdata.SPLITS_DIR / f"medical_{sub}_train.txt")} <= combined


@pytest.mark.shared_data
def test_shipped_splits_resolve_against_the_shared_data(shared_data):
    for task in ("ivf", "medical", "mff", "mef"):
        pairs, _ = tdata.resolve_training_data([f"split:{task}"], task, shared_data)
        assert len(pairs) == len(_lines(tdata.SPLITS_DIR / f"{task}_train.txt"))
    # no MSRS test pair (by its MSRS name) is among the training pairs
    msrs_test = {p.stem for p in (shared_data / "ivf/MSRS_test_subset").rglob("*.png")}
    ivf_names = {Path(p).stem for row in _lines(tdata.SPLITS_DIR / "ivf_train.txt") for p in row}
    assert msrs_test and not msrs_test & ivf_names


@pytest.mark.slow
@pytest.mark.shared_data
def test_make_splits_is_deterministic(shared_data, tmp_path):
    tdata.make_splits(shared_data, tmp_path, log=lambda m: None)
    for path in SPLIT_FILES + HELDOUT_FILES:
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name
