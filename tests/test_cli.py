"""The command line, as a user types it (in-process calls of bench.cli.main)."""
import pytest

from bench.cli import _csv, main
from tests.fixtures import make_pairs, pairs_spec


def test_comma_lists_keep_pairs_folders_together():
    assert _csv("average,max") == ["average", "max"]
    assert _csv("pairs:/a/ir,/a/vi?task=ivf,samples,tno:../x") == \
        ["pairs:/a/ir,/a/vi?task=ivf", "samples", "tno:../x"]
    assert _csv("average,folder:GFF=../f/GFF") == ["average", "folder:GFF=../f/GFF"]


def test_list_shows_needs_status_and_profiles(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for needle in ("## methods", "## datasets", "## metrics", "## tasks", "NEEDS WEIGHTS", "baselines", "Profiles:", "default"):
        assert needle in out
    assert main(["list", "metrics"]) == 0
    assert "## methods" not in capsys.readouterr().out


def test_run_then_report(tmp_path, capsys):
    root = make_pairs(tmp_path / "d", n=3)
    out = tmp_path / "runs"
    assert main(["run", "--methods", "average,max", "--datasets", pairs_spec(root), "--out",
                 str(out), "--workers", "0", "--no-progress", "--metrics", "EN,SD,SF"]) == 0
    printed = capsys.readouterr()
    assert "| average" in printed.out and "| max" in printed.out
    run_dir = next(out.glob("run-*"))
    assert (run_dir / "manifest.json").exists() and (run_dir / "report.md").exists()
    assert main(["report", str(run_dir)]) == 0
    assert "| average" in capsys.readouterr().out


def test_clear_errors(tmp_path, capsys):
    assert main(["run", "--methods", "nosuch", "--datasets", pairs_spec(make_pairs(tmp_path / "d", 1)),
                 "--out", str(tmp_path / "r"), "--workers", "0", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "unknown method 'nosuch'" in err and "nothing ran" in err
    assert main(["report", "run-missing", "--out", str(tmp_path / "r")]) == 2
    assert "no run 'run-missing'" in capsys.readouterr().err
    assert main(["train", "smc"]) == 2
    assert "--task" in capsys.readouterr().err


def test_manifest_records_versions_git_and_machine(tmp_path):
    import json
    root = make_pairs(tmp_path / "d", n=1)
    main(["run", "--methods", "average", "--datasets", pairs_spec(root), "--out", str(tmp_path / "r"),
          "--workers", "0", "--no-progress", "--seed", "7"])
    manifest = json.loads(next((tmp_path / "r").glob("run-*/manifest.json")).read_text())
    assert manifest["seed"] == 7 and manifest["packages"]["numpy"]
    assert manifest["machine"]["cpu_count"] >= 1 and "commit" in manifest["git"]
    assert list(manifest["dataset_fingerprints"].values())[0]
