"""The `efficiency` task: latency at 480x640, params and FLOPs as records, also for methods that
lack trained weights (timed with random weights), and a clear failure for precomputed folders."""
from __future__ import annotations

import pytest

from bench.runner import RunConfig, run
from bench.store import Store
from tests.fixtures import make_pairs, pairs_spec


def test_efficiency_records_for_classical_untrained_deep_and_folder_methods(tmp_path):
    root = make_pairs(tmp_path / "data", n=1)
    folder = tmp_path / "outs"
    folder.mkdir()
    cfg = RunConfig(methods=["average", "ifcnn", f"folder:PRE={folder}"],
                    datasets=[pairs_spec(root)], tasks=["fusion", "efficiency"], metrics=["EN"],
                    workers=0)
    result = run(cfg, home=tmp_path / "runs", progress=False, quiet=True)
    with Store(result.store_path) as store:
        recs = [r for r in store.records(result.run_id)
                if r.metric in ("latency_ms", "params", "flops")]
    got = {(r.method, r.metric): r for r in recs}
    avg = got[("average", "latency_ms")]
    assert avg.ok and 0 <= avg.value < 100 and avg.sample == "480x640"
    assert avg.profile.startswith(("cpu:", "cuda:"))
    # ifcnn has no weights: not fused, but its architecture is timed and counted
    from methods.deep._ifcnn_net import IFCNNNet
    net = IFCNNNet("max")
    n_params = sum(p.numel() for p in net.parameters())
    assert got[("ifcnn", "params")].value == n_params
    assert "random weights" in got[("ifcnn", "params")].reason
    # IFCNN's convs at 480x640: conv1 7x7 3->64, conv2 and conv3 3x3 64->64 (conv2 once per
    # source), conv4 3x3 64->3; MACs = k*k*cin*cout*H*W per conv
    hw = 480 * 640
    macs = hw * (2 * 49 * 3 * 64 + 2 * 9 * 64 * 64 + 9 * 64 * 64 + 9 * 64 * 3)
    assert got[("ifcnn", "flops")].value == pytest.approx(macs, rel=0.02)
    assert got[("ifcnn", "latency_ms")].value > 0
    pre = got[("PRE", "latency_ms")]
    assert not pre.ok and "precomputed" in pre.reason
