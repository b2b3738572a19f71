"""The runner end to end on small fixture datasets: records, cache, restart, and every bad input."""
from pathlib import Path

import numpy as np
import pytest

from bench.imageio import read_image
from bench.runner import RunConfig, run
from bench.store import Store
from tests.fixtures import make_pairs, pairs_spec, save, smooth_image

PLUGIN = ["tests.plugins.faulty"]


def do_run(tmp_path, methods, datasets, workers=0, metrics=("EN", "SD", "SF"), **kw):
    cfg = RunConfig(methods=methods, datasets=datasets, workers=workers, plugins=PLUGIN,
                    metrics=list(metrics) if metrics else None, **kw)
    result = run(cfg, home=tmp_path / "runs", progress=False, quiet=True)
    with Store(result.store_path) as st:
        return result, st.records(result.run_id)


def by(records, **where):
    return [r for r in records if all(getattr(r, k) == v for k, v in where.items())]


def test_records_fused_images_and_report(tmp_path):
    root = make_pairs(tmp_path / "d", n=4)
    result, recs = do_run(tmp_path, ["average", "max"], [pairs_spec(root)])
    fuse = by(recs, metric="fuse")
    assert len(fuse) == 8 and all(r.ok for r in fuse)
    assert {r.metric for r in recs} == {"fuse", "EN", "SD", "SF"}
    assert all(r.profile == "default" for r in recs if r.metric != "fuse")
    # values are the metrics of the written fused image
    from bench.metrics import compute
    f = result.run_dir / "fused" / "pairs" / "average" / "p00.png"
    img = read_image(f)
    assert img.mode == "RGB"  # visible source is colour: chroma restored
    en = by(recs, method="average", sample="p00", metric="EN")[0].value
    assert en == pytest.approx(compute("EN", None, None, img.data.astype(float)))
    report = (result.run_dir / "report.md").read_text()
    assert "| average" in report and "EN ↑" in report and "mean ± sample std" in report


def test_pool_and_in_process_agree(tmp_path):
    root = make_pairs(tmp_path / "d", n=5)
    _, a = do_run(tmp_path / "a", ["average", "max"], [pairs_spec(root)], workers=0)
    _, b = do_run(tmp_path / "b", ["average", "max"], [pairs_spec(root)], workers=2)
    strip = lambda rs: sorted((r.method, r.sample, r.metric, r.value, r.status) for r in rs)
    assert strip(a) == strip(b)


def test_restart_redoes_only_what_is_missing(tmp_path):
    root = make_pairs(tmp_path / "d", n=4)
    result, first = do_run(tmp_path, ["average"], [pairs_spec(root)])
    with Store(result.store_path) as st:
        st.db.execute("DELETE FROM records WHERE sample='p02' AND metric='SD'")
    cached = sorted((tmp_path / "runs" / "cache" / "fused").rglob("*.png"))
    assert len(cached) == 4
    mtimes = [p.stat().st_mtime_ns for p in cached]
    _, second = do_run(tmp_path, ["average"], [pairs_spec(root)])
    assert len(second) == len(first)
    assert [p.stat().st_mtime_ns for p in cached] == mtimes  # nothing fused again
    key = lambda rs: sorted((r.sample, r.metric, r.value) for r in rs)
    assert key(second) == key(first)


def test_limit_and_unavailable_methods(tmp_path):
    root = make_pairs(tmp_path / "d", n=5)
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    result, recs = do_run(tmp_path, [f"smc?weights={no_weights}", "average"], [pairs_spec(root)],
                          limit=2)
    assert len(by(recs, method="average", metric="fuse")) == 2
    smc = [r for r in recs if r.method.startswith("smc")]
    assert len(smc) == 1 and smc[0].status == "failed"
    assert "no SMC-Mamba weights for task" in smc[0].reason and "bench train smc" in smc[0].reason
    assert any("smc" in n for n in result.notes)


# --- bad input: each case gives a failure record with a clear reason, and the run goes on -----

def bad_dataset(tmp_path) -> Path:
    root = make_pairs(tmp_path / "bad", n=3)
    save(root / "ir" / "lonely.png", smooth_image(50))                                 # no partner
    save(root / "ir" / "size.png", smooth_image(51, (24, 32)))
    save(root / "vi" / "size.png", smooth_image(52, (20, 30), colour=True))            # mismatch
    save(root / "ir" / "trunc.png", smooth_image(53))
    data = save(root / "vi" / "trunc.png", smooth_image(54, colour=True)).read_bytes()
    (root / "vi" / "trunc.png").write_bytes(data[: len(data) // 2])                     # truncated
    save(root / "ir" / "zero.png", smooth_image(55))
    (root / "vi" / "zero.png").write_bytes(b"")                                         # zero bytes
    save(root / "ir" / "corrupt.jpg", smooth_image(56))
    (root / "vi" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage" + b"\x00" * 50 + b"\xff\xd9")
    (root / "vi" / "notes.gif").write_bytes(b"GIF89a not really")                       # non-image
    return root


@pytest.fixture
def bad_records(tmp_path):
    root = bad_dataset(tmp_path)
    _, recs = do_run(tmp_path, ["average"], [pairs_spec(root)])
    return recs


def reason_of(records, sample, metric="fuse"):
    rows = by(records, sample=sample, metric=metric)
    assert rows, f"no {metric} record for {sample}"
    assert rows[0].status == "failed"
    return rows[0].reason


def test_good_samples_survive_bad_ones(bad_records):
    ok = [r for r in by(bad_records, metric="fuse") if r.ok]
    assert sorted(r.sample for r in ok) == ["p00", "p01", "p02"]
    assert len(by(bad_records, metric="EN", status="ok")) == 3


def test_missing_partner(bad_records):
    assert "missing partner" in reason_of(bad_records, "lonely", "load")


def test_size_mismatch(bad_records):
    reason = reason_of(bad_records, "size")
    assert "size mismatch" in reason and "32x24" in reason and "30x20" in reason


def test_truncated_image(bad_records):
    assert "truncated PNG" in reason_of(bad_records, "trunc") and "trunc.png" in reason_of(bad_records, "trunc")


def test_zero_byte_file(bad_records):
    assert "zero-byte" in reason_of(bad_records, "zero")


def test_corrupt_image(bad_records):
    assert "corrupt.jpg" in reason_of(bad_records, "corrupt")


def test_non_image_file(bad_records):
    rows = [r for r in by(bad_records, metric="load") if "notes.gif" in r.reason]
    assert rows and rows[0].status == "failed" and "not an image" in rows[0].reason


def test_empty_dataset_folder(tmp_path):
    (tmp_path / "e" / "ir").mkdir(parents=True)
    (tmp_path / "e" / "vi").mkdir()
    result, recs = do_run(tmp_path, ["average"], [pairs_spec(tmp_path / "e"),
                                                  pairs_spec(make_pairs(tmp_path / "g", 2)) + "&name=good"])
    load = by(recs, metric="load")
    assert len(load) == 1 and "no sample pairs found" in load[0].reason
    assert len(by(recs, dataset="good", metric="fuse", status="ok")) == 2


def test_missing_dataset_root_is_a_record_not_a_crash(tmp_path):
    result, recs = do_run(tmp_path, ["average"], [f"tno:{tmp_path / 'nowhere'}",
                                                  pairs_spec(make_pairs(tmp_path / "g", 2))])
    assert any("does not exist" in r.reason for r in by(recs, metric="load"))
    assert len(by(recs, metric="fuse", status="ok")) == 2


@pytest.mark.parametrize("method,needle", [("raises", "deliberate failure inside the method"),
                                           ("nan", "non-finite"), ("inf", "non-finite"),
                                           ("wrongshape", "returned shape (23, 32)")])
def test_faulty_methods(tmp_path, method, needle):
    root = make_pairs(tmp_path / "d", n=2)
    _, recs = do_run(tmp_path, [method, "average"], [pairs_spec(root)])
    bad = by(recs, method=method, metric="fuse")
    assert len(bad) == 2 and all(r.status == "failed" and needle in r.reason for r in bad)
    assert not by(recs, method=method, metric="EN")
    assert len(by(recs, method="average", metric="fuse", status="ok")) == 2


# --- valid but unusual input is fused, not rejected --------------------------------------------

def test_unusual_valid_inputs(tmp_path):
    root = tmp_path / "odd sources ünï"
    g16 = smooth_image(1, bits=16)
    save(root / "ir" / "sixteen bit.png", g16)
    save(root / "vi" / "sixteen bit.png", smooth_image(2, colour=True))
    rgba = np.dstack([smooth_image(3, colour=True), np.full((24, 32), 255, np.uint8)])
    save(root / "ir" / "rgba.png", smooth_image(4))
    save(root / "vi" / "rgba.png", rgba)
    grey = smooth_image(5)
    save(root / "ir" / "红外 grey.png", np.dstack([grey] * 3))
    save(root / "vi" / "红外 grey.png", smooth_image(6))
    save(root / "ir" / "odd.bmp", smooth_image(7, (17, 31)))
    save(root / "vi" / "odd.bmp", smooth_image(8, (17, 31)))
    result, recs = do_run(tmp_path, ["average"], [pairs_spec(root)])
    fuse = by(recs, metric="fuse")
    assert sorted(r.sample for r in fuse) == ["odd", "rgba", "sixteen bit", "红外 grey"]
    assert all(r.ok for r in fuse), [r.reason for r in fuse]
    out = result.run_dir / "fused" / "pairs" / "average"
    assert read_image(out / "sixteen bit.png").bits == 16
    assert read_image(out / "红外 grey.png").mode == "L"
    assert read_image(out / "rgba.png").mode == "RGB"
    assert read_image(out / "odd.png").shape == (17, 31)


def test_folder_method_reports_missing_and_mis_sized_files(tmp_path):
    root = make_pairs(tmp_path / "d", n=3)
    fused = tmp_path / "fused"
    save(fused / "p00.png", smooth_image(9, colour=True))
    save(fused / "p01.png", smooth_image(9, (10, 10)))
    _, recs = do_run(tmp_path, [f"folder:Theirs={fused}"], [pairs_spec(root)])
    assert by(recs, sample="p00", metric="fuse")[0].ok
    assert "10x10" in reason_of(recs, "p01") and "32x24" in reason_of(recs, "p01")
    assert "no fused image for sample 'p02'" in reason_of(recs, "p02")
    assert by(recs, sample="p00", metric="EN")[0].ok


# --- placement, batch hook and crashing workers ------------------------------------------------

def test_batch_hook_gets_the_shard(tmp_path):
    from tests.plugins import faulty
    root = make_pairs(tmp_path / "d", n=5)
    faulty.BATCH_CALLS.clear()
    _, recs = do_run(tmp_path, ["batched", "average"], [pairs_spec(root)])
    assert faulty.BATCH_CALLS and sum(faulty.BATCH_CALLS) == 5
    values = lambda m: sorted((r.sample, r.metric, r.value) for r in by(recs, method=m) if r.metric != "fuse")
    assert values("batched") == values("average")


def test_gpu_methods_fuse_in_process_and_score_in_the_pool(tmp_path):
    root = make_pairs(tmp_path / "d", n=3)
    _, recs = do_run(tmp_path, ["gpu-average", "average"], [pairs_spec(root)], workers=2)
    values = lambda m: sorted((r.sample, r.metric, r.value) for r in by(recs, method=m) if r.metric != "fuse")
    assert len(values("gpu-average")) == 9 and values("gpu-average") == values("average")


def test_a_worker_that_dies_fails_only_its_sample(tmp_path):
    root = make_pairs(tmp_path / "d", n=4)
    save(root / "ir" / "white.png", np.full((24, 32), 255, np.uint8))
    save(root / "vi" / "white.png", smooth_image(3, colour=True))
    _, recs = do_run(tmp_path, ["crash"], [pairs_spec(root)], workers=2)
    assert "worker process died" in reason_of(recs, "white")
    assert len(by(recs, metric="fuse", status="ok")) == 4


def test_run_identity_follows_arguments_and_data(tmp_path):
    root = make_pairs(tmp_path / "d", n=2)
    first, _ = do_run(tmp_path, ["average"], [pairs_spec(root)])
    again, _ = do_run(tmp_path, ["average"], [pairs_spec(root)])
    other_args, _ = do_run(tmp_path, ["average"], [pairs_spec(root)], limit=1)
    save(root / "vi" / "p01.png", smooth_image(77, colour=True))  # the data changed
    changed, _ = do_run(tmp_path, ["average"], [pairs_spec(root)])
    assert first.run_id == again.run_id
    assert len({first.run_id, other_args.run_id, changed.run_id}) == 3


def test_metric_selection_default_all_and_profile_names(tmp_path):
    from bench.metrics import default_metrics
    from bench.runner import metric_selection
    from bench.registry import METRICS
    assert metric_selection(None, "tang") == default_metrics("tang")
    assert metric_selection(["all"], "default") == METRICS.names()
    assert metric_selection(["ms_ssim"], "tang") == ["MEF-SSIM"]
    assert metric_selection(["ms_ssim"], "default") == ["MS-SSIM"]


def test_every_metric_is_recorded_with_metrics_all(tmp_path):
    from bench.registry import METRICS
    _, recs = do_run(tmp_path, ["average"], ["samples/mff"], metrics=["all"], limit=1)
    names = {r.metric for r in recs} - {"fuse"}
    assert names == set(METRICS.names())  # samples/mff has ground truth: gt metrics included
    ok = {r.metric for r in recs if r.ok} - {"fuse"}
    assert ok == names, [(r.metric, r.reason) for r in recs if not r.ok]
