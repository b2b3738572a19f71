#!/usr/bin/env python3
"""Set up and run fusebench on a fresh machine with only Python 3.11 and pip (stdlib only).

    python3 bootstrap.py bench       # set up, then run the default benchmark on embedded data
    python3 bootstrap.py test        # set up, then run the test suite (what CI runs)
    python3 bootstrap.py test-slow   # the long checks (training runs, full dataset passes)
    python3 bootstrap.py reports     # regenerate the committed reports/ (needs ../shared/data)
    python3 bootstrap.py setup       # only create/refresh .venv

Idempotent: the virtual environment `.venv` is created once and re-installed only when
pyproject.toml changes (its hash is stored in .venv/fusebench-installed). Extra arguments after
the command are passed on (to `python -m bench run` or to pytest).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "fusebench-installed"
EXTRAS = "dev,downstream"
# Installed with --no-deps after the extras: the four downstream packages require opencv-python,
# which would replace opencv-contrib-python-headless's cv2 (see pyproject.toml, extra
# `downstream`); dtcwt declares numpy<2, which it does not need (methods/classical/multiscale.py).
NO_DEPS = ("ultralytics==8.4.190", "mmengine==0.10.7", "mmcv-lite==2.1.0", "mmsegmentation==1.2.2",
           "dtcwt==0.14.0")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wanted_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} extras={EXTRAS} no-deps={','.join(NO_DEPS)}"


def setup() -> Path:
    if sys.version_info[:2] != (3, 11):
        print(f"warning: fusebench is tested on Python 3.11; this is {sys.version.split()[0]}. "
              "torch==2.14.1 wheels may have to be downloaded for it.", file=sys.stderr)
    py = venv_python()
    if not py.exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == wanted_stamp():
        return py
    print("installing fusebench and its pinned dependencies into .venv "
          "(first time: a few minutes; torch is about 5.5 GB)", file=sys.stderr)
    subprocess.run([str(py), "-m", "pip", "install", "-e", f".[{EXTRAS}]"], cwd=ROOT, check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", *NO_DEPS], cwd=ROOT, check=True)
    STAMP.write_text(wanted_stamp())
    return py


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command not in {"setup", "bench", "test", "test-slow", "reports"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    py = setup()
    env = dict(os.environ, MPLBACKEND="Agg", YOLO_OFFLINE="1")
    if command == "setup":
        return 0
    if command == "reports":
        return regenerate_reports(py, env)
    if command == "bench":
        cmd = [str(py), "-m", "bench", "run", "--methods", "smc,baselines", *rest]
    elif command == "test":
        cmd = [str(py), "-m", "pytest", "-q", *rest]
    else:
        cmd = [str(py), "-m", "pytest", "-q", "-m", "slow", *rest]
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if command.startswith("test") and result.returncode == 5:
        print("error: pytest collected no tests (exit code 5) - treating as a failure",
              file=sys.stderr)
        return 1
    return result.returncode


def regenerate_reports(py: Path, env: dict) -> int:
    """The committed reports/: the default run's tables and figures, the VIFB reproduction, the
    MFIF leaderboard, the baselines' faithfulness table and SMC-Mamba on TNO-25 (the last four
    read ../shared/data, or FUSEBENCH_DATA)."""
    runs = ROOT / "runs"
    data = Path(os.environ.get("FUSEBENCH_DATA", ROOT.parent / "shared" / "data")).resolve()
    steps = [
        ["-m", "bench", "run", "--methods", "smc,baselines", "--tasks", "fusion,efficiency",
         "--run-id", "default",
         "--out", str(runs), "--no-progress"],
        ["-m", "bench", "report", str(runs / "default"), "--format", "md,latex,csv", "--std",
         "--figures", "--compare", "paper", "--to", str(ROOT / "reports" / "default")],
        ["-m", "bench", "reproduce", "vifb", "--out", str(ROOT / "reports" / "vifb_reproduction")],
        ["-m", "bench", "reproduce", "mfif", "--out", str(ROOT / "reports" / "mfif")],
        ["-m", "bench.faithfulness", "--out", str(ROOT / "reports" / "faithfulness")],
        # SMC-Mamba with the shipped weights on held-out real IVF pairs (TNO-25), next to the
        # simple rules and the published fused outputs the TNO folder ships
        ["-m", "bench", "run", "--methods", "smc,average,max,precomputed",
         "--datasets", f"tno:{data / 'ivf' / 'TNO_ImageFusion'}?subset=tno25",
         "--metrics", "MI,SF,AG,CC,SCD,VIF,Qabf,MS-SSIM", "--run-id", "smc_tno25",
         "--out", str(runs), "--no-progress"],
        ["-m", "bench", "report", str(runs / "smc_tno25"), "--format", "md,latex,csv", "--std",
         "--to", str(ROOT / "reports" / "smc_tno25")],
    ]
    worst = 0
    for step in steps:
        print("+ python " + " ".join(step), file=sys.stderr, flush=True)
        # a step that finds values outside a bar exits 1; the next steps still run
        worst = max(worst, subprocess.run([str(py), *step], cwd=ROOT, env=env).returncode)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
