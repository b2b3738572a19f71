"""Segmenters the `segment` task trains and evaluates: one small interface, two backends.

Interface (`Segmenter`): `fit(images, masks, workdir)`, `predict(images) -> label maps`,
`save(path)`, `load(path)`. Images are H x W x 3 uint8 RGB (grey images repeated to three
channels, so infrared, visible and fused images all enter the same network); masks are H x W
uint8 class indices with 255 = ignore. Predictions have the input image's size.

Backends
- `yolo-sem` (default): ultralytics YOLO26 semantic segmentation built from `yolo26<scale>-sem.yaml`
  (no pretrained weights), trained with ultralytics' own trainer on a dataset folder written by
  `fit` (images/train + masks/train class-index PNGs, `masks_dir: masks`). `iters` optimizer
  steps are turned into whole epochs (ceil(iters * batch / n_images)). Mosaic and warm-up are off:
  from scratch on few CPU iterations they only slow convergence.
- `mmseg`: mmsegmentation 1.2.2 models built from a config dict (no pretrained weights):
  `deeplabv3plus` (the paper's DeepLabV3+: ResNetV1c-18 backbone, output stride 8, depthwise-
  separable ASPP + low-level decoder), `deeplabv3plus-tiny` (the same with base width 16, for CI),
  `segformer-b0` (MiT-b0 + all-MLP head). Trained by a plain loop over mmengine's
  `model.train_step` (no Runner: no log files, no checkpoint hooks); AdamW lr 1e-3, weight decay
  0.01, poly decay (power 0.9) over `iters` steps, random horizontal flips. mmseg's DeepLabV3+
  recipe (SGD 0.01, 80k iterations) assumes ImageNet-pretrained backbones; from scratch on a CPU
  budget AdamW converges far faster. mmcv-lite's missing compiled ops are bridged by
  `tasks._mmcv_shim`; checkpoints are plain state dicts loaded with `weights_only=True`.
Both resize every image so its longer side is `imgsz` (rounded to a multiple of 32) for training
and prediction; predictions are resized back (logits bilinearly for mmseg, letterbox-aware for
ultralytics) to the input size.
"""
from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

IGNORE = 255
BACKENDS = ("yolo-sem", "mmseg")
MMSEG_MODELS = ("deeplabv3plus", "deeplabv3plus-tiny", "segformer-b0")
YOLO_SCALES = ("n", "s", "m", "l", "x")


class BackendUnavailable(RuntimeError):
    """The backend's packages are missing or broken; the message says how to install them."""


def scaled_size(shape: tuple[int, int], imgsz: int) -> tuple[int, int]:
    """(h, w) with the longer side imgsz, both multiples of 32."""
    h, w = shape[:2]
    s = imgsz / max(h, w)
    return max(32, int(round(h * s / 32)) * 32), max(32, int(round(w * s / 32)) * 32)


class Segmenter:
    """Base class: `name` labels the model in protocol names."""

    name = "segmenter"

    def fit(self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray], workdir: Path) -> None:
        raise NotImplementedError

    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def save(self, path: Path) -> None:
        raise NotImplementedError

    def load(self, path: Path) -> None:
        raise NotImplementedError


def make_segmenter(backend: str, classes: Sequence[str], *, model: str | None, iters: int,
                   batch: int, imgsz: int, seed: int) -> Segmenter:
    if backend == "yolo-sem":
        return YoloSemantic(classes, scale=model or "n", iters=iters, batch=batch, imgsz=imgsz,
                            seed=seed)
    if backend == "mmseg":
        return MMSegModel(classes, model=model or "deeplabv3plus", iters=iters, batch=batch,
                          imgsz=imgsz, seed=seed)
    raise ValueError(f"unknown segmentation backend {backend!r}; choose one of {BACKENDS}")


# -- ultralytics YOLO26 semantic ---------------------------------------------------------------

class YoloSemantic(Segmenter):
    def __init__(self, classes, *, scale: str, iters: int, batch: int, imgsz: int, seed: int):
        if scale not in YOLO_SCALES:
            raise ValueError(f"yolo-sem model scale must be one of {YOLO_SCALES}, got {scale!r}")
        self.classes, self.scale = tuple(classes), scale
        self.iters, self.batch, self.imgsz, self.seed = iters, batch, imgsz, seed
        self.name = f"yolo26{scale}-sem"
        self.model = None

    @staticmethod
    def _import():
        os.environ.setdefault("YOLO_OFFLINE", "1")
        try:
            from ultralytics import YOLO
        except ImportError as exc:
            raise BackendUnavailable(f"backend yolo-sem needs ultralytics==8.4.190 ({exc})") from None
        return YOLO

    def fit(self, images, masks, workdir: Path) -> None:
        YOLO = self._import()
        workdir = Path(workdir).resolve()
        data = workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        for sub in ("images/train", "masks/train", "images/check", "masks/check"):
            (data / sub).mkdir(parents=True)
        for i, (img, mask) in enumerate(zip(images, masks)):
            _write_png(data / "images/train" / f"{i:06d}.png", img[..., ::-1])  # cv2 writes BGR
            _write_png(data / "masks/train" / f"{i:06d}.png", mask)
            if i < 2:  # ultralytics validates once after training; keep that pass tiny
                _write_png(data / "images/check" / f"{i:06d}.png", img[..., ::-1])
                _write_png(data / "masks/check" / f"{i:06d}.png", mask)
        names = "".join(f"  {i}: {c}\n" for i, c in enumerate(self.classes))
        (data / "data.yaml").write_text(f"path: {data}\ntrain: images/train\nval: images/check\n"
                                        f"masks_dir: masks\nnames:\n{names}")
        epochs = max(1, math.ceil(self.iters * self.batch / max(len(images), 1)))
        model = YOLO(f"yolo26{self.scale}-sem.yaml", task="semantic")
        model.train(data=str(data / "data.yaml"), epochs=epochs, imgsz=self.imgsz,
                    batch=self.batch, device="cpu" if not _cuda() else 0, workers=0, plots=False,
                    val=False, project=str(workdir / "yolo"), name="train", exist_ok=True,
                    verbose=False, seed=self.seed, deterministic=True, mosaic=0.0,
                    warmup_epochs=0, amp=_cuda(), save=True, pretrained=False)
        self.model = model

    def predict(self, images) -> list[np.ndarray]:
        out = []
        for img in images:
            res = self.model.predict([np.ascontiguousarray(img[..., ::-1])], imgsz=self.imgsz,
                                     verbose=False, device="cpu" if not _cuda() else 0)[0]
            mask = res.semantic_mask
            data = getattr(mask, "data", mask)
            out.append(np.asarray(data.cpu().numpy() if hasattr(data, "cpu") else data,
                                  dtype=np.int64))
        return out

    def save(self, path: Path) -> None:
        trainer = getattr(self.model, "trainer", None)
        last = Path(trainer.last) if trainer is not None else None
        if last is None or not last.is_file():
            raise RuntimeError("yolo-sem: training wrote no weights file")
        shutil.copyfile(last, path)

    def load(self, path: Path) -> None:
        YOLO = self._import()
        self.model = YOLO(str(path), task="semantic")


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def _write_png(path: Path, array: np.ndarray) -> None:
    if not cv2.imwrite(str(path), np.ascontiguousarray(array)):
        raise OSError(f"could not write {path}")


# -- mmsegmentation ----------------------------------------------------------------------------

def mmseg_config(model: str, num_classes: int) -> dict:
    """The model config dict (mmseg 1.x types) for one of MMSEG_MODELS."""
    norm = dict(type="BN", requires_grad=True)
    pre = dict(type="SegDataPreProcessor", mean=[123.675, 116.28, 103.53],
               std=[58.395, 57.12, 57.375], bgr_to_rgb=False, pad_val=0, seg_pad_val=IGNORE,
               size_divisor=32)
    loss = dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)
    if model in ("deeplabv3plus", "deeplabv3plus-tiny"):
        base = 64 if model == "deeplabv3plus" else 16
        backbone = dict(type="ResNetV1c", depth=18, stem_channels=base, base_channels=base,
                        num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                        strides=(1, 2, 1, 1), norm_cfg=norm, norm_eval=False, style="pytorch",
                        contract_dilation=True)
        head = dict(type="DepthwiseSeparableASPPHead", in_channels=8 * base, in_index=3,
                    channels=2 * base if base < 64 else 128, dilations=(1, 12, 24, 36),
                    c1_in_channels=base, c1_channels=max(8, base // 2), dropout_ratio=0.1,
                    num_classes=num_classes, norm_cfg=norm, align_corners=False,
                    loss_decode=loss)
    elif model == "segformer-b0":
        backbone = dict(type="MixVisionTransformer", in_channels=3, embed_dims=32, num_stages=4,
                        num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
                        sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4,
                        qkv_bias=True, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1)
        head = dict(type="SegformerHead", in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3],
                    channels=256, dropout_ratio=0.1, num_classes=num_classes, norm_cfg=norm,
                    align_corners=False, loss_decode=loss)
    else:
        raise ValueError(f"mmseg model must be one of {MMSEG_MODELS}, got {model!r}")
    return dict(type="EncoderDecoder", data_preprocessor=pre, backbone=backbone,
                decode_head=head, train_cfg=dict(), test_cfg=dict(mode="whole"))


class MMSegModel(Segmenter):
    def __init__(self, classes, *, model: str, iters: int, batch: int, imgsz: int, seed: int):
        if model not in MMSEG_MODELS:
            raise ValueError(f"mmseg model must be one of {MMSEG_MODELS}, got {model!r}")
        self.classes, self.model_name = tuple(classes), model
        self.iters, self.batch, self.imgsz, self.seed = iters, batch, imgsz, seed
        self.name = model
        self.net = None

    def _build(self):
        try:
            from ._mmcv_shim import install
            install()
            import torch
            from mmengine.config import ConfigDict
            from mmseg.registry import MODELS
            from mmseg.utils import register_all_modules
        except ImportError as exc:
            raise BackendUnavailable(
                f"backend mmseg needs mmengine==0.10.7 mmcv-lite==2.1.0 mmsegmentation==1.2.2 "
                f"ftfy regex ({exc})") from None
        register_all_modules(init_default_scope=True)
        import logging
        from mmengine.logging import MMLogger
        MMLogger.get_current_instance().setLevel(logging.WARNING)  # init_weights logs every tensor
        torch.manual_seed(self.seed)
        net = MODELS.build(ConfigDict(mmseg_config(self.model_name, len(self.classes))))
        net.init_weights()
        return net

    def _batch(self, images, masks=None):
        import torch
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        inputs, samples = [], []
        for k, img in enumerate(images):
            h, w = scaled_size(img.shape, self.imgsz)
            small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            inputs.append(torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1))))
            ds = SegDataSample()
            ds.set_metainfo(dict(img_shape=(h, w), ori_shape=img.shape[:2], pad_shape=(h, w)))
            if masks is not None:
                m = cv2.resize(masks[k], (w, h), interpolation=cv2.INTER_NEAREST)
                ds.gt_sem_seg = PixelData(data=torch.from_numpy(m.astype(np.int64))[None])
            samples.append(ds)
        return dict(inputs=inputs, data_samples=samples)

    def fit(self, images, masks, workdir: Path) -> None:
        import torch
        from mmengine.optim import OptimWrapper
        self.net = self._build()
        self.net.train()
        opt = torch.optim.AdamW(self.net.parameters(), lr=1e-3, weight_decay=0.01)
        wrapper = OptimWrapper(opt)
        rng = np.random.default_rng(self.seed)
        n = len(images)
        for it in range(self.iters):
            for group in opt.param_groups:
                group["lr"] = 1e-3 * (1 - it / self.iters) ** 0.9
            idx = rng.choice(n, size=min(self.batch, n), replace=n < self.batch)
            flip = rng.random(len(idx)) < 0.5
            imgs = [images[i][:, ::-1] if f else images[i] for i, f in zip(idx, flip)]
            ms = [masks[i][:, ::-1] if f else masks[i] for i, f in zip(idx, flip)]
            self.net.train_step(self._batch(imgs, ms), wrapper)
        self.net.eval()

    def predict(self, images) -> list[np.ndarray]:
        import torch
        out = []
        with torch.no_grad():
            for i in range(0, len(images), max(1, self.batch)):
                res = self.net.test_step(self._batch(images[i:i + self.batch]))
                out.extend(r.pred_sem_seg.data[0].cpu().numpy().astype(np.int64) for r in res)
        return out

    def save(self, path: Path) -> None:
        import torch
        torch.save(self.net.state_dict(), path)

    def load(self, path: Path) -> None:
        import torch
        self.net = self._build()
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.net.eval()
