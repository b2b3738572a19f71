#!/usr/bin/env python3
"""Run the reference MATLAB fusion-metric toolkits under GNU Octave: timing (and values).

    python benchmarks/octave_reference.py --code /tmp/metric_refs A.png B.png F.png
        [--toolkits vifb,mefb,tang,liu] [--metrics Qabf,FMI] [--timeout 600] [--json out.json]

`--code` is a folder holding the toolkits' own code, fetched separately and never committed:
    <code>/vifb/metrics/*.m      xingchenzhang/VIFB metrics/
    <code>/mefb/metrics/*.m      xingchenzhang/MEFB metrics/
    <code>/tang/Evaluation/*.m   Linfeng-Tang/SeAFusion Evaluation/ (+ MI_evaluation.m, Hab.m)
    <code>/liu/*.m               zhengliu6699/imageFusionMetrics
    <code>/shims/*.m             Octave stand-ins for missing MATLAB functions (see
                                 tests/fixtures/metric_reference/PROVENANCE.md)
For every toolkit metric this writes an Octave driver (our own code) that loads the triple the
way the toolkit's own driver does, calls the metric exactly as that driver calls it, once on a
64x64 corner as a warm-up (parsing, package loading) and once timed with tic/toc on the full
triple, and prints the seconds. Each metric runs in its own Octave process so that one slow
metric (the per-pixel MATLAB loops of FMI, MEF-SSIM, Qcv...) can be cut off by --timeout
without losing the others. The result is {"toolkit:metric": {"toolkit", "toolkit_metric",
"metric" (fusebench's name), "seconds" (None when it failed or timed out), "value", "error"}}.

benchmarks/metrics_speed.py imports `time_reference` to print "fusebench vs Octave-run
reference, measured in the same run". Where Octave is not installed, `time_reference` raises
OctaveUnavailable with a clear message and this script exits 0 after printing it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


class OctaveUnavailable(RuntimeError):
    """GNU Octave (with the image and signal packages) or the reference code is missing."""


# ---------------------------------------------------------------------------------------------
# How each toolkit's own driver loads images and calls each metric.
# Placeholders: {A} {B} {F} are image paths (first source, second source, fused);
# the preamble defines the variables the calls use, exactly as the toolkit's driver does.
# ---------------------------------------------------------------------------------------------

VIFB_METRICS = {  # VIFB compute_metrics.m: res = metrics<Name>(imgVI, imgIR, sFused)
    "Avg_gradient": "AG", "Cross_entropy": "CE", "Edge_intensity": "EI", "Entropy": "EN",
    "Mutinf": "MI", "Psnr": "PSNR", "Qabf": "Qabf", "Qcb": "Qcb", "Qcv": "Qcv", "Rmse": "RMSE",
    "Spatial_frequency": "SF", "Ssim": "SSIM", "Variance": "SD",
}
MEFB_METRICS = {  # MEFB compute_metrics.m: res = metrics<Name>(imgA, imgB, sFused)
    "Cross_entropy": "CE", "Entropy": "EN", "FMI": "FMI_edge", "NMI": "NMI", "Psnr": "PSNR",
    "Qncie": "QNCIE", "TE": "TE", "Avg_gradient": "AG", "Edge_intensity": "EI", "Qabf": "Qabf",
    "Qp": "Qp", "SD": "SD", "Spatial_frequency": "SF", "Qc": "Qc", "Qw": "Qw", "Qy": "Qy",
    "MEF_SSIM": "MEF-SSIM", "Qcb": "Qcb", "Qcv": "Qcv", "VIF": "VIFF",
}
# Tang (SeAFusion Evaluation/analysis_Reference.m): the expressions of analysis_Reference,
# evaluated on the variables it builds from (image_f, image_ir, image_vis).
TANG_CALLS = {
    "EN": ("EN", "entropy(image_f)"),
    "SF": ("SF", "SF_evaluation(image_fused)"),
    "SD": ("SD", "SD_evaluation(image_f)"),
    "PSNR": ("PSNR", "PSNR_evaluation(image1,image2,image_fused)"),
    "MSE": ("MSE", "MSE_evaluation(image1,image2,image_fused)"),
    "MI": ("MI", "MI_evaluation(image_ir,image_vis,image_f, grey_level)"),
    "VIF": ("VIF", "vifp_mscale(image_ir, image_f) + vifp_mscale(image_vis, image_f)"),
    "AG": ("AG", "AG_evaluation(image_f)"),
    "CC": ("CC", "CC_evaluation(image1, image2, image_fused)"),
    "SCD": ("SCD", "analysis_SCD(image1, image2, image_fused)"),
    "Qabf": ("Qabf", "analysis_Qabf(image1, image2, image_fused)"),
    "Nabf": ("Nabf", "analysis_nabf(image_fused, image1, image2)"),
    "SSIM": ("SSIM", "mef_ssim(imgSeq, image_f)"),
    "MS_SSIM": ("MEF-SSIM", "analysis_ms_ssim(imgSeq, image_f)"),
    "FMI_pixel": ("FMI_pixel", "analysis_fmi(image1,image2,image_fused)"),
    "FMI_dct": ("FMI_dct", "analysis_fmi(image1,image2,image_fused,'dct')"),
    "FMI_w": ("FMI_w", "analysis_fmi(image1,image2,image_fused,'wavelet')"),
    # not called by analysis_Reference: the argument order METRICS.md describes as Tang's bug
    "Nabf[analysis_nabf(ir,vi,f)]": ("Nabf", "analysis_nabf(image1, image2, image_fused)"),
}
# Z. Liu's imageFusionMetrics, called as fusionAssess.m does (im1, im2 double; fused).
LIU_CALLS = {
    "metricMI(sw=1)": ("NMI", "metricMI(im1,im2,fused,1)"),
    "metricMI(sw=2)": ("TE", "metricMI(im1,im2,fused,2)"),
    "metricMI(sw=3)": ("TE_nava", "metricMI(im1,im2,fused,3)"),
    "metricWang": ("QNCIE", "metricWang(im1,im2,fused)"),
    "metricXydeas": ("Qabf", "metricXydeas(im1,im2,fused)"),
    "metricZheng": ("Qsf", "metricZheng(im1,im2,fused)"),
    "metricZhao": ("Qp", "metricZhao(im1,im2,fused)"),
    "metricPeilla(sw=1)": ("Qs", "metricPeilla(im1,im2,fused,1)"),
    "metricPeilla(sw=2)": ("Qw", "metricPeilla(im1,im2,fused,2)"),
    "metricCvejic(sw=2)": ("Qc", "metricCvejic(im1,im2,fused,2)"),
    "metricYang": ("Qy", "metricYang(im1,im2,fused)"),
    "metricChen": ("Qcv", "metricChen(im1,im2,fused)"),
    "metricChenBlum": ("Qcb", "metricChenBlum(im1,im2,fused)"),
}

PREAMBLES = {
    # VIFB compute_metrics.m: imgVI = imread(..); imgIR = imread(..); sFused = imread(..)
    "vifb": ("addpath('{code}/vifb/metrics');\n"
             "imgVI = imread('{A}'); imgIR = imread('{B}'); sFused = imread('{F}');\n"),
    # MEFB compute_metrics.m: imgA = imread(.._A); imgB = imread(.._B); sFused = imread(..)
    "mefb": ("addpath('{code}/mefb/metrics');\n"
             "imgA = imread('{A}'); imgB = imread('{B}'); sFused = imread('{F}');\n"),
    # Evaluation_for_Single_Image.m + the first lines of analysis_Reference.m
    "tang": ("addpath('{code}/tang/Evaluation');\n"
             "ir_image = imread('{A}'); vi_image = imread('{B}'); fused_image = imread('{F}');\n"
             "if size(ir_image, 3)>2, ir_image = rgb2gray(ir_image); end\n"
             "if size(vi_image, 3)>2, vi_image = rgb2gray(vi_image); end\n"
             "if size(fused_image, 3)>2, fused_image = rgb2gray(fused_image); end\n"
             "image_f = fused_image; image_ir = ir_image; image_vis = vi_image;\n"
             "grey_level = 256;\n"
             "[s1,s2] = size(image_ir); imgSeq = zeros(s1, s2, 2);\n"
             "imgSeq(:, :, 1) = image_ir; imgSeq(:, :, 2) = image_vis;\n"
             "image1 = im2double(image_ir); image2 = im2double(image_vis);\n"
             "image_fused = im2double(image_f);\n"),
    # fusionAssess.m: im1 = double(im1); im2 = double(im2); fused as given (double here)
    "liu": ("addpath('{code}/liu');\n"
            "im1 = double(imread('{A}')); im2 = double(imread('{B}')); fused = double(imread('{F}'));\n"),
}
_C = "(1:min(64,end),1:min(64,end)"  # a 64x64 (or smaller) corner
WARMUP_CROP = {  # the same variables cut to a corner, for the warm-up call
    "vifb": "".join(f"{v} = {v}{_C},:); " for v in ("imgVI", "imgIR", "sFused")) + "\n",
    "mefb": "".join(f"{v} = {v}{_C},:); " for v in ("imgA", "imgB", "sFused")) + "\n",
    "tang": "".join(f"{v} = {v}{_C}); " for v in ("image_f", "image_ir", "image_vis", "image1",
                                                  "image2", "image_fused"))
            + f"imgSeq = imgSeq{_C},:);\n",
    "liu": "".join(f"{v} = {v}{_C}); " for v in ("im1", "im2", "fused")) + "\n",
}


def calls(toolkit: str) -> dict[str, tuple[str, str]]:
    """toolkit metric -> (fusebench metric, Octave expression)."""
    if toolkit == "vifb":
        return {k: (v, f"metrics{k}(imgVI, imgIR, sFused)") for k, v in VIFB_METRICS.items()}
    if toolkit == "mefb":
        return {k: (v, f"metrics{k}(imgA, imgB, sFused)") for k, v in MEFB_METRICS.items()}
    if toolkit == "tang":
        return dict(TANG_CALLS)
    if toolkit == "liu":
        return dict(LIU_CALLS)
    raise ValueError(f"unknown toolkit {toolkit!r}; known: vifb, mefb, tang, liu")


TOOLKITS = ("vifb", "mefb", "tang", "liu")
_HEADER = ("warning('off', 'all');\npkg load image;\npkg load signal;\n"
           "addpath('{code}/shims', '-begin');\n")


def _octave_str(path: str | Path) -> str:
    return str(path).replace("'", "''")


def driver(code: Path, toolkit: str, metrics: dict[str, str], a: str, b: str, f: str,
           warmup: bool = True) -> str:
    """Octave source that prints, per metric, `VAL<TAB>name<TAB>value<TAB>imag<TAB>seconds` or
    `ERR<TAB>name<TAB>message`."""
    fmt = dict(code=_octave_str(code), A=_octave_str(a), B=_octave_str(b), F=_octave_str(f))
    src = [_HEADER.format(**fmt), PREAMBLES[toolkit].format(**fmt)]
    for name, expr in metrics.items():
        body = []
        if warmup:
            body.append("  " + WARMUP_CROP[toolkit].replace("\n", "\n  ").rstrip())
            body.append(f"  try, v__ = {expr}; catch, end")
            reload = PREAMBLES[toolkit].split("\n", 1)[1].format(**fmt)  # full-size variables again
            body.append("  " + reload.replace("\n", "\n  ").rstrip())
        body.append(f"  t__ = tic; v__ = {expr}; s__ = toc(t__);")
        body.append("  v__ = double(v__(1));")
        body.append(f"  printf('VAL\\t%s\\t%.17g\\t%.17g\\t%.6f\\n', '{name}', real(v__), imag(v__), s__);")
        src.append("try\n" + "\n".join(body) + "\ncatch err__\n"
                   f"  printf('ERR\\t%s\\t%s\\n', '{name}', strrep(err__.message, sprintf('\\n'), ' '));\n"
                   "end\n")
    return "".join(src)


def octave_binary() -> str:
    exe = shutil.which("octave-cli") or shutil.which("octave")
    if exe is None:
        raise OctaveUnavailable("GNU Octave is not installed (apt-get install octave octave-image "
                                "octave-signal); the reference timings are skipped")
    return exe


def check_code(code: Path, toolkits) -> None:
    need = {"vifb": "vifb/metrics/metricsQabf.m", "mefb": "mefb/metrics/metricsQabf.m",
            "tang": "tang/Evaluation/analysis_Reference.m", "liu": "liu/metricMI.m"}
    missing = [t for t in toolkits if not (code / need[t]).is_file()]
    if missing or not (code / "shims").is_dir():
        raise OctaveUnavailable(f"reference code missing under {code} for {missing or ['shims']}; "
                                "see tests/fixtures/metric_reference/PROVENANCE.md for how it was fetched")


def run_octave(source: str, timeout: float) -> tuple[list[tuple], str]:
    exe = octave_binary()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "driver.m"
        script.write_text(source)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        try:
            proc = subprocess.run([exe, "--no-gui", "--norc", "-q", str(script)], capture_output=True,
                                  text=True, timeout=timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return parse(out), f"timeout after {timeout:.0f} s"
    return parse(proc.stdout), proc.stderr[-2000:]


def parse(stdout: str) -> list[tuple]:
    rows = []
    for line in stdout.splitlines():
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "VAL" and len(parts) == 5:
            rows.append(("VAL", parts[1], float(parts[2]), float(parts[3]), float(parts[4])))
        elif parts[0] == "ERR" and len(parts) >= 3:
            rows.append(("ERR", parts[1], "\t".join(parts[2:])))
    return rows


def evaluate(code: Path, toolkit: str, a: str, b: str, f: str, metrics=None, warmup=False,
             timeout: float = 3600, per_metric_process: bool = False) -> dict[str, dict]:
    """Run toolkit metrics on one triple -> {toolkit metric: {metric, value, imag, seconds, error}}."""
    table = calls(toolkit)
    names = [m for m in table if metrics is None or m in metrics or table[m][0] in metrics]
    groups = [[n] for n in names] if per_metric_process else [names]
    out: dict[str, dict] = {}
    for group in groups:
        src = driver(code, toolkit, {n: table[n][1] for n in group}, a, b, f, warmup=warmup)
        rows, err = run_octave(src, timeout)
        seen = set()
        for row in rows:
            name = row[1]
            seen.add(name)
            if row[0] == "VAL":
                out[name] = {"metric": table[name][0], "value": row[2], "imag": row[3],
                             "seconds": row[4], "error": None}
            else:
                out[name] = {"metric": table[name][0], "value": None, "imag": None,
                             "seconds": None, "error": row[2]}
        for name in group:
            if name not in seen:
                out[name] = {"metric": table[name][0], "value": None, "imag": None, "seconds": None,
                             "error": err.strip() or "no output"}
    return out


def _toolkit_inputs(tmp: Path, a: str, b: str, f: str) -> dict[str, tuple[str, str, str]]:
    """Per-toolkit (first, second, fused) paths for a (ir, visible, fused) triple.

    VIFB passes the visible image first; Tang and Liu get the IR first; MEFB takes (A, B).
    Where one image is colour, VIFB and MEFB get grey images as 3 equal channels, as MATLAB's
    imread returns VIFB's RGB-but-grey IR files (MEFB's per-channel loop needs it)."""
    import cv2
    colour = any(cv2.imread(p, cv2.IMREAD_UNCHANGED).ndim == 3 for p in (a, b, f))
    a3, b3, f3 = (_rgb_copy(p, tmp) for p in (a, b, f)) if colour else (a, b, f)
    return {"vifb": (b3, a3, f3), "mefb": (a3, b3, f3), "tang": (a, b, f), "liu": (a, b, f)}


def _rgb_copy(path: str, tmp: Path) -> str:
    import cv2
    import numpy as np
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        return path
    out = tmp / ("rgb_" + re.sub(r"[^A-Za-z0-9_.]", "_", Path(path).name))
    cv2.imwrite(str(out), np.repeat(img[:, :, None], 3, axis=2))
    return str(out)


def time_reference(code, a, b, f, toolkits=TOOLKITS, metrics=None, timeout: float = 600,
                   grey_for_liu: bool = True) -> dict[str, dict]:
    """Time every toolkit metric on one (ir, visible, fused) triple of image files.

    -> {"toolkit:metric": {"toolkit", "toolkit_metric", "metric", "seconds", "value", "error"}}.
    Raises OctaveUnavailable (with the reason) where Octave or the reference code is missing."""
    code = Path(code)
    octave_binary()
    check_code(code, toolkits)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = _toolkit_inputs(Path(tmp), str(a), str(b), str(f))
        if grey_for_liu and "liu" in toolkits:  # Liu's code takes grey planes
            inputs["liu"] = tuple(_grey_copy(p, Path(tmp)) for p in inputs["liu"])
        for toolkit in toolkits:
            first, second, fused = inputs[toolkit]
            res = evaluate(code, toolkit, first, second, fused, metrics=metrics, warmup=True,
                           timeout=timeout, per_metric_process=True)
            for name, info in res.items():
                results[f"{toolkit}:{name}"] = dict(info, toolkit=toolkit, toolkit_metric=name)
    return results


def _grey_copy(path: str, tmp: Path) -> str:
    import cv2
    import numpy as np
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        weights = np.array([0.114020904255103, 0.587043074451121, 0.298936021293775])  # rgb2gray, BGR order
        img = np.clip(np.round(img[:, :, :3].astype(np.float64) @ weights), 0, 255).astype(np.uint8)
    out = tmp / ("grey_" + re.sub(r"[^A-Za-z0-9_.]", "_", Path(path).name))
    cv2.imwrite(str(out), img)
    return str(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="first source (IR)")
    ap.add_argument("b", help="second source (visible)")
    ap.add_argument("f", help="fused image")
    ap.add_argument("--code", type=Path, required=True, help="folder with the toolkits' code")
    ap.add_argument("--toolkits", default=",".join(TOOLKITS))
    ap.add_argument("--metrics", default=None, help="comma list of toolkit or fusebench names")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per metric")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    toolkits = tuple(t for t in args.toolkits.split(",") if t)
    metrics = set(args.metrics.split(",")) if args.metrics else None
    try:
        res = time_reference(args.code, args.a, args.b, args.f, toolkits, metrics, args.timeout)
    except OctaveUnavailable as exc:
        print(f"skipped: {exc}")
        return 0
    print(f"{'toolkit:metric':<36}{'fusebench':>10}{'seconds':>11}  value / error")
    for key, info in res.items():
        sec = f"{info['seconds']:>11.3f}" if info["seconds"] is not None else f"{'-':>11}"
        tail = f"{info['value']:.6g}" if info["value"] is not None else info["error"]
        print(f"{key:<36}{info['metric']:>10}{sec}  {tail}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
