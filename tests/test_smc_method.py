"""The `smc` method: weights loading (format, clear errors), inference through the harness."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from methods.base import MethodUnavailable, resolve  # noqa: E402
from methods.smc_mamba.config import SMCConfig  # noqa: E402
from methods.smc_mamba.model import SMCMamba  # noqa: E402
from methods.smc_mamba.weights import WeightsError, load_weights, save_weights  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(0)
    net = SMCMamba(SMCConfig())
    path = tmp_path_factory.mktemp("w") / "smc_ivf.pt"
    save_weights(path, net.state_dict(), SMCConfig().to_dict(), {"task": "ivf", "seed": 0})
    return path, net


def test_weights_round_trip_weights_only(weights_file):
    path, net = weights_file
    raw = torch.load(path, weights_only=True)  # plain tensors + JSON only
    assert raw["format"] == "fusebench-smc-weights/1" and raw["meta"]["task"] == "ivf"
    state, config, meta = load_weights(path)
    assert config == SMCConfig() and meta["seed"] == 0
    assert state.keys() == net.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_smc_fuses_through_the_harness_like_the_model(weights_file):
    path, net = weights_file
    a = RNG.random((20, 27), dtype=np.float32)
    b = RNG.random((20, 27), dtype=np.float32)
    method = resolve(f"smc?weights={path}")
    assert method.impl.unavailable_reason("ivf") is None
    out = method.fuse_pair(a, b, "ivf")
    assert out.shape == (20, 27) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    with torch.inference_mode():
        want = net.eval()(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]).fused
    np.testing.assert_allclose(out, want[0, 0].numpy(), atol=1e-6)
    # the cache key follows the weights' content
    digest = method.impl.weights_digest()
    assert len(digest) == 16 and digest == resolve(f"smc?weights={path}").impl.weights_digest()


def test_weights_errors_name_the_file_and_the_fix(tmp_path, weights_file):
    path, net = weights_file
    with pytest.raises(MethodUnavailable, match="does not exist"):
        resolve(f"smc?weights={tmp_path / 'missing.pt'}")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match=r"junk\.pt.*bench train smc"):
        load_weights(junk)
    plain = tmp_path / "plain.pt"
    torch.save(net.state_dict(), plain)  # a bare state_dict: not our format
    with pytest.raises(WeightsError, match="not a fusebench SMC-Mamba weights file"):
        load_weights(plain)
    state = dict(net.state_dict())
    state.pop(next(iter(state)))
    broken = save_weights(tmp_path / "broken.pt", state, SMCConfig().to_dict(), {})
    method = resolve(f"smc?weights={broken}")
    with pytest.raises(WeightsError, match=r"broken\.pt does not match.*Missing key"):
        method.fuse_pair(np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32), "ivf")


def test_missing_task_weights_is_a_reason_not_a_crash(tmp_path):
    method = resolve(f"smc?weights={tmp_path}")  # a folder without smc_<task>.pt files
    reason = method.impl.unavailable_reason("mef")
    assert "no SMC-Mamba weights for task mef" in reason and "smc_mef.pt" in reason
