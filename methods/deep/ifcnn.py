"""`ifcnn`: IFCNN (Zhang et al., Information Fusion 54, 2020) with user-supplied weights.

Spec: `ifcnn[?weights=PATH][&rule=auto|max|mean|sum][&norm=auto|none|imagenet][&clahe=auto|true|false]`
- weights: an official checkpoint (IFCNN-MAX.pth, IFCNN-MEAN.pth, IFCNN-SUM.pth as the authors
  distribute them) or a `bench train ifcnn` weights file; or a folder holding `IFCNN-<RULE>.pth`
  or `ifcnn.pt`. Default: the folder methods/deep/weights/. Without weights the method reports
  "needs weights" instead of failing per sample.
- rule: the element-wise feature fusion. auto = the rule stored in our weights file when there
  is one, else the authors' pairing: MEAN for multi-exposure, MAX for everything else.
- norm: input normalisation. The official script feeds grey images (IV, MD) replicated to RGB in
  [0, 1] without normalisation, colour multi-focus images with ImageNet mean/std, and the
  multi-exposure Y channel replicated to RGB without normalisation. auto = the normalisation
  stored in our weights file (`bench train ifcnn` trains without: none), else ImageNet for mff
  and none otherwise. Our input is always the Y plane (the harness restores colour), replicated to
  three channels.
- clahe: the official multi-exposure post-processing: the fused Y is mapped to [16, 235] (8 bit,
  truncated as in the script) and enhanced with CLAHE (clip 2.0, 8x8 tiles). auto = on for mef.

Output: the network's RGB output de-normalised, clipped to [0, 1], reduced to BT.601 luma
(float, not quantised to 8 bit as the script's PNGs are).
"""
from __future__ import annotations

import numpy as np

from ..base import ALL_TASKS, register_method
from ._wrapper import DeepFusion, to_grey, to_tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RULES = ("max", "mean", "sum")


def mef_postprocess(y: np.ndarray) -> np.ndarray:
    """The official multi-exposure enhancement of the fused Y (in [0, 1]): 8-bit studio range
    16 + 219*y (truncated), then CLAHE clip 2.0 on 8x8 tiles; back to [0, 1]."""
    import cv2
    y8 = (np.clip(y, 0.0, 1.0) * 219.0 + 16.0).astype(np.uint8)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(y8).astype(np.float32) / 255.0


def _flag(value, name: str) -> str:
    text = str(value).lower()
    if text not in ("auto", "true", "false"):
        raise ValueError(f"ifcnn: {name} must be auto, true or false, got {value!r}")
    return text


class IFCNNFusion(DeepFusion):
    method = "ifcnn"
    version = "1"

    def __init__(self, weights: str | None = None, rule: str = "auto", norm: str = "auto",
                 clahe="auto", device: str = "auto", threads: int = 0):
        rule, norm = str(rule).lower(), str(norm).lower()
        if rule not in ("auto",) + RULES:
            raise ValueError(f"ifcnn: rule must be auto, max, mean or sum, got {rule!r}")
        if norm not in ("auto", "none", "imagenet"):
            raise ValueError(f"ifcnn: norm must be auto, none or imagenet, got {norm!r}")
        self.rule, self.norm, self.clahe = rule, norm, _flag(clahe, "clahe")
        super().__init__(weights, device, threads)

    def rule_for(self, task: str, meta: dict | None = None) -> str:
        if self.rule != "auto":
            return self.rule
        if meta and meta.get("rule") in RULES:
            return meta["rule"]
        return "mean" if task == "mef" else "max"

    def file_names(self, task: str) -> list[str]:
        return [f"IFCNN-{self.rule_for(task).upper()}.pth", "ifcnn.pt"]

    @classmethod
    def status(cls) -> str:
        from ._weights import WEIGHTS_DIR
        if any((WEIGHTS_DIR / n).is_file() for n in ("ifcnn.pt", "IFCNN-MAX.pth")):
            return "ok"
        return super().status()

    def net_key(self, task: str, meta: dict) -> tuple:
        return (str(self.weights_file(task)), self.rule_for(task, meta))

    def _build(self, state: dict, meta: dict, task: str):
        from ._ifcnn_net import IFCNNNet
        net = IFCNNNet(self.rule_for(task, meta))
        net.trained_norm = meta.get("norm")  # our weights files record the training input norm
        return net

    def _run(self, net, images: list[np.ndarray], task: str) -> np.ndarray:
        import torch
        dev = next(net.parameters()).device
        norm = self.norm
        if norm == "auto":
            norm = getattr(net, "trained_norm", None) or ("imagenet" if task == "mff" else "none")
        imagenet = norm == "imagenet"
        mean = torch.tensor(IMAGENET_MEAN if imagenet else (0.0,) * 3, device=dev).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD if imagenet else (1.0,) * 3, device=dev).view(1, 3, 1, 1)
        xs = [(x - mean) / std for x in to_tensor(images, 3, dev)]
        with torch.inference_mode():
            out = (net(*xs) * std + mean).clamp(0.0, 1.0)
        y = to_grey(out)
        if self.clahe == "true" or (self.clahe == "auto" and task == "mef"):
            y = mef_postprocess(y)
        return y


register_method(
    "ifcnn", tasks=ALL_TASKS, kind="deep", baseline=True, needs=("weights",), device="any",
    description="IFCNN: shared conv encoder (frozen ResNet-101 conv1), element-wise MAX/MEAN/SUM "
                "feature fusion, conv decoder; official checkpoints via ifcnn?weights=PATH",
    paper="Zhang, Liu, Sun, Yan, Zhao, Zhang, IFCNN: A general image fusion framework based on "
          "convolutional neural network, Information Fusion 54 (2020) 99-118", year=2020,
    params={"rule": "auto (MAX; MEAN for mef)", "norm": "auto (ImageNet for mff)",
            "clahe": "auto (mef)"})(IFCNNFusion)
