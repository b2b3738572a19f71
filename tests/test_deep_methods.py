"""The deep baselines (IFCNN, DenseFuse): networks, official checkpoint layouts, the method
wrappers, and `bench train ifcnn|densefuse` (train, checkpoint, resume, fuse with the result)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from bench.registry import METHODS  # noqa: E402
from methods.base import resolve  # noqa: E402
from methods.deep._weights import DeepWeightsError  # noqa: E402
from tests.fixtures import save, smooth_image  # noqa: E402

# The official key layouts and shapes (uzeful/IFCNN Code/model.py; hli1221/densefuse-pytorch
# net.py), written out here independently of our modules.
IFCNN_OFFICIAL = [("conv1.weight", (64, 3, 7, 7))] + [
    (f"{b}.{k}", s) for b in ("conv2", "conv3") for k, s in (
        ("conv.weight", (64, 64, 3, 3)), ("bn.weight", (64,)), ("bn.bias", (64,)),
        ("bn.running_mean", (64,)), ("bn.running_var", (64,)), ("bn.num_batches_tracked", ()))
] + [("conv4.weight", (3, 64, 1, 1)), ("conv4.bias", (3,))]
DENSEFUSE_CONVS = [("conv1", 1, 16), ("DB1.denseblock.0.dense_conv", 16, 16),
                   ("DB1.denseblock.1.dense_conv", 32, 16), ("DB1.denseblock.2.dense_conv", 48, 16),
                   ("conv2", 64, 64), ("conv3", 64, 32), ("conv4", 32, 16), ("conv5", 16, 1)]


def official_ifcnn_state(seed: int = 0) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in IFCNN_OFFICIAL:
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            fan = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            state[key] = torch.randn(shape, generator=g) / np.sqrt(fan)
    return state


def official_densefuse_state(seed: int = 0) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for name, cin, cout in DENSEFUSE_CONVS:
        state[f"{name}.conv2d.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * np.sqrt(2 / (9 * cin))
        state[f"{name}.conv2d.bias"] = torch.rand(cout, generator=g) * 0.1
    return state


def reference_ifcnn(state, images, rule="max"):
    """The official forward pass written with torch.nn.functional, for grey [0, 1] inputs
    (replicated to RGB, no normalisation) -> BT.601 luma of the clamped output."""
    def block(x, p):
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), state[f"{p}.conv.weight"])
        x = F.batch_norm(x, state[f"{p}.bn.running_mean"], state[f"{p}.bn.running_var"],
                         state[f"{p}.bn.weight"], state[f"{p}.bn.bias"], False, 0.0, 1e-5)
        return F.relu(x)
    feats = []
    for im in images:
        x = torch.from_numpy(im)[None, None].repeat(1, 3, 1, 1)
        x = F.conv2d(F.pad(x, (3, 3, 3, 3), mode="replicate"), state["conv1.weight"])
        feats.append(block(x, "conv2"))
    stack = torch.stack(feats)
    fused = {"max": stack.amax(0), "mean": stack.mean(0), "sum": stack.sum(0)}[rule]
    out = F.conv2d(block(fused, "conv3"), state["conv4.weight"], state["conv4.bias"]).clamp(0, 1)
    return (0.299 * out[0, 0] + 0.587 * out[0, 1] + 0.114 * out[0, 2]).numpy()


def reference_densefuse(state, images):
    """The release's forward pass: [0, 255] input, reflection padding, ReLU after every conv,
    fusion = mean of the encoder features."""
    def conv(x, name):
        return F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"),
                               state[f"{name}.conv2d.weight"], state[f"{name}.conv2d.bias"]))
    feats = []
    for im in images:
        x = conv(torch.from_numpy(im)[None, None] * 255, "conv1")
        for i in range(3):
            x = torch.cat([x, conv(x, f"DB1.denseblock.{i}.dense_conv")], 1)
        feats.append(x)
    x = (feats[0] + feats[1]) / 2
    for name in ("conv2", "conv3", "conv4", "conv5"):
        x = conv(x, name)
    return (x[0, 0] / 255).clamp(0, 1).numpy()


def pair(shape=(30, 37)):
    return (smooth_image(1, shape).astype(np.float32) / 255,
            smooth_image(2, shape).astype(np.float32) / 255)


# --- networks ---------------------------------------------------------------------------------

def test_network_shapes_and_rules():
    from methods.deep._densefuse_net import DenseFuseNet, fuse_features
    from methods.deep._ifcnn_net import IFCNNNet
    torch.manual_seed(0)
    x = [torch.rand(2, 3, 21, 34) for _ in range(3)]
    for rule in ("max", "mean", "sum"):
        assert IFCNNNet(rule).eval()(*x).shape == (2, 3, 21, 34)
    assert not IFCNNNet().conv1.weight.requires_grad  # frozen, as in the paper
    net = DenseFuseNet().eval()
    g = torch.rand(2, 1, 19, 23) * 255
    assert net.encoder(g).shape == (2, 64, 19, 23) and net(g).shape == (2, 1, 19, 23)
    assert net.fuse(g, g, g).shape == (2, 1, 19, 23)
    f = torch.rand(1, 2, 64, 9, 11)
    same = torch.stack([f[0], f[0]])
    assert torch.allclose(fuse_features(same, "addition"), f[0])
    assert torch.allclose(fuse_features(same, "sum"), 2 * f[0])
    assert torch.allclose(fuse_features(same, "l1"), f[0], atol=1e-6)
    # l1-norm weights: a silent source gets weight 0 -> the other source's features
    silent = torch.stack([f[0], torch.zeros_like(f[0])])
    assert torch.allclose(fuse_features(silent, "l1", radius=1), f[0], atol=1e-6)


# --- official checkpoints ---------------------------------------------------------------------

@pytest.mark.parametrize("rule", ["max", "mean"])
def test_ifcnn_loads_official_layout_and_matches_reference(tmp_path, rule):
    state = official_ifcnn_state()
    path = tmp_path / f"IFCNN-{rule.upper()}.pth"
    torch.save(state, path)  # a plain state dict, as the authors distribute it
    a, b = pair()
    method = resolve(f"ifcnn?weights={path}&rule={rule}")
    assert method.impl.unavailable_reason("ivf") is None
    out = method.fuse_pair(a, b, "ivf")
    assert out.shape == a.shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1 and out.std() > 0
    np.testing.assert_allclose(out, reference_ifcnn(state, [a, b], rule), atol=2e-5)
    # a folder holding the official file names is searched per rule (auto: MEAN for mef)
    folder = resolve(f"ifcnn?weights={tmp_path}")
    assert folder.impl.weights_file("mef" if rule == "mean" else "ivf") == path


def test_densefuse_loads_official_layout_and_matches_reference(tmp_path):
    state = official_densefuse_state()
    path = tmp_path / "densefuse_gray.model"
    torch.save(OrderedDict(("module." + k, v) for k, v in state.items()), path)  # DataParallel
    a, b = pair()
    out = resolve(f"densefuse?weights={path}").fuse_pair(a, b, "ivf")
    assert out.shape == a.shape and out.std() > 0
    np.testing.assert_allclose(out, reference_densefuse(state, [a, b]), atol=2e-5)
    l1 = resolve(f"densefuse?weights={path}&rule=l1").fuse_pair(a, b, "medical")
    assert l1.shape == a.shape and not np.allclose(l1, out)


def test_wrong_checkpoint_is_a_clear_error(tmp_path):
    state = official_ifcnn_state()
    state["conv5.weight"] = state.pop("conv4.weight")  # renamed layer
    state["conv2.conv.weight"] = torch.zeros(32, 64, 3, 3)  # wrong shape
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    method = resolve(f"ifcnn?weights={path}")
    with pytest.raises(DeepWeightsError) as info:
        method.fuse_pair(*pair(), "ivf")
    msg = str(info.value)
    assert str(path) in msg and "missing keys: conv4.weight" in msg
    assert "unexpected keys: conv5.weight" in msg and "conv2.conv.weight (32, 64, 3, 3)" in msg
    dense = tmp_path / "dense.pt"
    torch.save(official_ifcnn_state(), dense)  # IFCNN weights given to DenseFuse
    with pytest.raises(DeepWeightsError, match="missing keys: conv1.conv2d.weight"):
        resolve(f"densefuse?weights={dense}").fuse_pair(*pair(), "ivf")
    not_a_state = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_a_state)
    with pytest.raises(DeepWeightsError, match="not a state dict"):
        resolve(f"ifcnn?weights={not_a_state}").fuse_pair(*pair(), "ivf")


def test_without_weights_the_method_says_so(tmp_path):
    from methods.deep.ifcnn import IFCNNFusion
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("ifcnn", "densefuse"):
        entry = METHODS.get(name)
        assert entry.meta["kind"] == "deep" and entry.meta["baseline"]
        assert entry.meta["needs"] == ("weights",)
        reason = resolve(f"{name}?weights={empty}").impl.unavailable_reason("ivf")
        assert reason.startswith("needs weights") and f"bench train {name}" in reason
    with pytest.raises(DeepWeightsError, match="do not exist"):
        resolve(f"ifcnn?weights={tmp_path / 'nope.pth'}")
    status = IFCNNFusion.status()
    assert status == "ok" or status.startswith("NEEDS WEIGHTS")
    assert METHODS.get("densefuse").meta["tasks"] == {"ivf", "medical"}


def test_importing_methods_does_not_import_torch():
    code = "import sys, methods; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- training -----------------------------------------------------------------------------------

@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "imgs"
    for i in range(3):
        save(folder / f"im{i}.png", smooth_image(30 + i, (40, 48)))
    save(folder / "fused_out" / "ignored.png", smooth_image(99, (40, 48)))
    return folder


def _log_its(path):
    return [json.loads(line)["it"] for line in path.read_text().splitlines()]


def test_train_ifcnn_checkpoint_resume_and_fuse(images, tmp_path):
    from methods.deep.train import main_ifcnn
    out = tmp_path / "ifcnn"
    common = ["--data", str(images), "--out", str(out), "--crop", "24", "--batch-size", "2",
              "--ckpt-every", "2", "--log-every", "2", "--threads", "1", "--no-progress"]
    assert main_ifcnn(common + ["--iters", "4"]) == 0
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["iteration"] == 4 and ckpt["method"] == "ifcnn"
    assert main_ifcnn(common + ["--iters", "4"]) == 2  # refuses to overwrite without --resume
    assert main_ifcnn(common + ["--iters", "6", "--resume"]) == 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["iteration"] == 6
    assert _log_its(out / "train_log.jsonl") == [2, 4, 6]
    # resuming gives exactly what an uninterrupted run gives
    straight = tmp_path / "straight"
    assert main_ifcnn([*common[:3], str(straight), *common[4:], "--iters", "6"]) == 0
    a = torch.load(out / "weights.pt", weights_only=True)["state_dict"]
    b = torch.load(straight / "weights.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # a changed option is refused on resume
    bad = [c if c != "24" else "16" for c in common]
    assert main_ifcnn(bad + ["--iters", "8", "--resume"]) == 2
    meta = json.loads((out / "weights.json").read_text())
    assert meta["rule"] == "max" and meta["data_images"] == 3  # fused_out/ is not training data
    assert meta["norm"] == "none"  # trained on unnormalised input: `norm=auto` then uses none
    method = resolve(f"ifcnn?weights={out / 'weights.pt'}")
    x, y = pair()
    fused = method.fuse_pair(x, y, "mff")
    assert fused.shape == x.shape and 0 <= fused.min() and fused.max() <= 1 and fused.std() > 0
    assert np.array_equal(fused, resolve(f"ifcnn?weights={out / 'weights.pt'}&norm=none")
                          .fuse_pair(x, y, "mff"))


def test_train_densefuse_and_fuse(images, tmp_path):
    from methods.deep.train import main_densefuse
    out = tmp_path / "densefuse"
    rc = main_densefuse(["--data", str(images), "--out", str(out), "--iters", "3", "--crop", "24",
                         "--batch-size", "2", "--threads", "1", "--no-progress"])
    assert rc == 0
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert rows[-1]["it"] == 3 and {"pixel", "ssim", "total"} <= set(rows[-1])
    assert abs(rows[-1]["total"] - rows[-1]["pixel"] - 100 * rows[-1]["ssim"]) < 1e-3 * rows[-1]["total"]
    x, y = pair()
    fused = resolve(f"densefuse?weights={out / 'weights.pt'}").fuse_pair(x, y, "ivf")
    assert fused.shape == x.shape and np.isfinite(fused).all()
    assert main_densefuse(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x"),
                           "--no-progress"]) == 2
