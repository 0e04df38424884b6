"""MMDetection 3.x config dicts for the shipped detectors, built from a trial configuration (no config files).

Everything here is plain dicts: the mmengine Runner builds the model, data pipeline, optimizer and schedule
from them. Backbones are built without ``init_cfg`` (nothing is downloaded here): starting weights, when the card
names them, are loaded by the trainer (:mod:`.pretrained`, :class:`~.hooks.LoadCheckpointHook`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DETECTORS = ("retinanet", "fcos", "faster_rcnn")
IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]


@dataclass(frozen=True)
class DataPaths:
    """Annotation files and image folders of the train and valid splits, and the class names in order."""

    train_ann: str
    train_images: str
    valid_ann: str
    valid_images: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    """The effective training budget after the run's limits were applied."""

    iters: int
    val_interval: int
    image_scale: int
    batch_size: int
    num_workers: int = 0


def model_config(
    detector: str, config: dict[str, Any], num_classes: int, options: dict[str, Any], pretrained: bool = False
) -> dict[str, Any]:
    """The ``model`` entry of an MMDetection config for ``detector`` under a trial configuration.

    ``pretrained``: the backbone starts from loaded weights, so batch-norm statistics stay as loaded
    (``norm_eval``, as MMDetection fine-tunes); from scratch they must be learned.
    """
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector '{detector}' (known: {', '.join(DETECTORS)})")
    depth = int(config["depth"])
    channels = int(config["fpn_channels"])
    norm = _norm(config["norm"])
    backbone = {
        "type": "ResNet",
        "depth": depth,
        "num_stages": 4,
        "out_indices": (0, 1, 2, 3),
        "frozen_stages": int(config["frozen_stages"]),
        "norm_cfg": norm,
        "norm_eval": pretrained and config["norm"] == "BN",
        "style": "pytorch",
        "init_cfg": None,
    }
    in_channels = [64, 128, 256, 512] if depth < 50 else [256, 512, 1024, 2048]
    preprocessor = {
        "type": "DetDataPreprocessor",
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "bgr_to_rgb": True,
        "pad_size_divisor": 32,
    }
    score_thr = float(options.get("score_thr", 0.001))
    max_per_img = int(options.get("max_per_img", 100))
    head_test = {
        "nms_pre": 1000,
        "min_bbox_size": 0,
        "score_thr": score_thr,
        "nms": {"type": "nms", "iou_threshold": 0.5},
        "max_per_img": max_per_img,
    }
    if detector == "retinanet":
        return _retinanet(preprocessor, backbone, in_channels, channels, num_classes, head_test)
    if detector == "fcos":
        return _fcos(preprocessor, backbone, in_channels, channels, num_classes, head_test)
    return _faster_rcnn(preprocessor, backbone, in_channels, channels, num_classes, score_thr, max_per_img)


def runner_config(
    detector: str,
    config: dict[str, Any],
    data: DataPaths,
    schedule: Schedule,
    options: dict[str, Any],
    pretrained: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of ``mmengine.runner.Runner`` (less work_dir, hooks and names) for one trial."""
    scale = (schedule.image_scale, schedule.image_scale)
    flip_prob = float(config["flip_prob"])
    if config["flip_direction"] == "horizontal_vertical":
        flip: dict[str, Any] = {
            "type": "RandomFlip",
            "prob": [flip_prob / 2, flip_prob / 2],
            "direction": ["horizontal", "vertical"],
        }
    else:
        flip = {"type": "RandomFlip", "prob": flip_prob, "direction": "horizontal"}
    train_pipeline = [
        {"type": "LoadImageFromFile"},
        {"type": "LoadAnnotations", "with_bbox": True},
        {"type": "Resize", "scale": scale, "keep_ratio": True},
        flip,
        {"type": "PackDetInputs"},
    ]
    test_pipeline = [
        {"type": "LoadImageFromFile"},
        {"type": "Resize", "scale": scale, "keep_ratio": True},
        {"type": "LoadAnnotations", "with_bbox": True},
        {"type": "PackDetInputs", "meta_keys": ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")},
    ]
    metainfo = {"classes": data.classes}
    train_dataset = {
        "type": "CocoDataset",
        "data_root": "",
        "ann_file": data.train_ann,
        "data_prefix": {"img": data.train_images.rstrip("/") + "/"},
        "metainfo": metainfo,
        "filter_cfg": {"filter_empty_gt": True, "min_size": 1},
        "pipeline": train_pipeline,
    }
    valid_dataset = {
        "type": "CocoDataset",
        "data_root": "",
        "ann_file": data.valid_ann,
        "data_prefix": {"img": data.valid_images.rstrip("/") + "/"},
        "metainfo": metainfo,
        "test_mode": True,
        "pipeline": test_pipeline,
    }
    workers = schedule.num_workers
    return {
        "model": model_config(detector, config, len(data.classes), options, pretrained),
        "train_dataloader": {
            "batch_size": schedule.batch_size,
            "num_workers": workers,
            "persistent_workers": workers > 0,
            "sampler": {"type": "InfiniteSampler", "shuffle": True},
            "batch_sampler": {"type": "AspectRatioBatchSampler"},
            "dataset": train_dataset,
        },
        "val_dataloader": {
            "batch_size": 1,
            "num_workers": workers,
            "persistent_workers": workers > 0,
            "drop_last": False,
            "sampler": {"type": "DefaultSampler", "shuffle": False},
            "dataset": valid_dataset,
        },
        "val_evaluator": {"type": "CocoMetric", "ann_file": data.valid_ann, "metric": "bbox", "format_only": False},
        "train_cfg": {"type": "IterBasedTrainLoop", "max_iters": schedule.iters, "val_interval": schedule.val_interval},
        "val_cfg": {"type": "ValLoop"},
        "optim_wrapper": _optim_wrapper(config, options),
        "param_scheduler": _schedulers(config, schedule.iters),
        "log_processor": {"by_epoch": False},
        "default_hooks": {
            "timer": {"type": "IterTimerHook"},
            "logger": {"type": "LoggerHook", "interval": max(1, min(50, schedule.iters))},
            "param_scheduler": {"type": "ParamSchedulerHook"},
            "checkpoint": {
                "type": "CheckpointHook",
                "interval": schedule.iters,
                "by_epoch": False,
                "max_keep_ckpts": 1,
                "save_last": True,
            },
            "sampler_seed": {"type": "DistSamplerSeedHook"},
        },
    }


def warmup_iters(config: dict[str, Any], iters: int) -> int:
    """Warm-up steps actually used: the configured number, at most a quarter of the run."""
    return min(int(config["warmup_iters"]), iters // 4)


def _norm(kind: str) -> dict[str, Any]:
    if kind == "GN":
        return {"type": "GN", "num_groups": 32, "requires_grad": True}
    return {"type": "BN", "requires_grad": True}


def _optim_wrapper(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    lr = float(config["lr"])
    decay = float(config["weight_decay"])
    if config["optimizer"] == "adamw":
        optimizer = {"type": "AdamW", "lr": lr, "weight_decay": decay, "betas": (0.9, 0.999)}
    else:
        optimizer = {"type": "SGD", "lr": lr, "momentum": float(config["momentum"]), "weight_decay": decay}
    wrapper: dict[str, Any] = {"type": "OptimWrapper", "optimizer": optimizer}
    clip = options.get("grad_clip", 35.0)
    if clip is not None:
        wrapper["clip_grad"] = {"max_norm": float(clip), "norm_type": 2}
    return wrapper


def _schedulers(config: dict[str, Any], iters: int) -> list[dict[str, Any]]:
    schedulers: list[dict[str, Any]] = []
    warmup = warmup_iters(config, iters)
    if warmup > 0:
        schedulers.append({"type": "LinearLR", "start_factor": 0.001, "by_epoch": False, "begin": 0, "end": warmup})
    if config["lr_schedule"] == "cosine":
        schedulers.append(
            {
                "type": "CosineAnnealingLR",
                "by_epoch": False,
                "begin": warmup,
                "end": iters,
                "T_max": max(1, iters - warmup),
                "eta_min_ratio": 0.01,
            }
        )
    else:
        milestones = sorted({max(1, iters * 2 // 3), max(1, iters * 8 // 9)})
        schedulers.append(
            {"type": "MultiStepLR", "by_epoch": False, "begin": 0, "end": iters, "milestones": milestones, "gamma": 0.1}
        )
    return schedulers


def _retinanet(
    preprocessor: dict[str, Any],
    backbone: dict[str, Any],
    in_channels: list[int],
    channels: int,
    num_classes: int,
    head_test: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "RetinaNet",
        "data_preprocessor": preprocessor,
        "backbone": backbone,
        "neck": {
            "type": "FPN",
            "in_channels": in_channels,
            "out_channels": channels,
            "start_level": 1,
            "add_extra_convs": "on_input",
            "num_outs": 5,
        },
        "bbox_head": {
            "type": "RetinaHead",
            "num_classes": num_classes,
            "in_channels": channels,
            "stacked_convs": 4,
            "feat_channels": channels,
            "anchor_generator": {
                "type": "AnchorGenerator",
                "octave_base_scale": 4,
                "scales_per_octave": 3,
                "ratios": [0.5, 1.0, 2.0],
                "strides": [8, 16, 32, 64, 128],
            },
            "bbox_coder": {"type": "DeltaXYWHBBoxCoder", "target_means": [0.0] * 4, "target_stds": [1.0] * 4},
            "loss_cls": {"type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0},
            "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0},
        },
        "train_cfg": {
            "assigner": {
                "type": "MaxIoUAssigner",
                "pos_iou_thr": 0.5,
                "neg_iou_thr": 0.4,
                "min_pos_iou": 0,
                "ignore_iof_thr": -1,
            },
            "sampler": {"type": "PseudoSampler"},
            "allowed_border": -1,
            "pos_weight": -1,
            "debug": False,
        },
        "test_cfg": head_test,
    }


def _fcos(
    preprocessor: dict[str, Any],
    backbone: dict[str, Any],
    in_channels: list[int],
    channels: int,
    num_classes: int,
    head_test: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "FCOS",
        "data_preprocessor": preprocessor,
        "backbone": backbone,
        "neck": {
            "type": "FPN",
            "in_channels": in_channels,
            "out_channels": channels,
            "start_level": 1,
            "add_extra_convs": "on_output",
            "num_outs": 5,
            "relu_before_extra_convs": True,
        },
        "bbox_head": {
            "type": "FCOSHead",
            "num_classes": num_classes,
            "in_channels": channels,
            "stacked_convs": 4,
            "feat_channels": channels,
            "strides": [8, 16, 32, 64, 128],
            "norm_cfg": {"type": "GN", "num_groups": 32, "requires_grad": True},
            "loss_cls": {"type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0},
            "loss_bbox": {"type": "IoULoss", "loss_weight": 1.0},
            "loss_centerness": {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0},
        },
        "train_cfg": None,
        "test_cfg": head_test,
    }


def _faster_rcnn(
    preprocessor: dict[str, Any],
    backbone: dict[str, Any],
    in_channels: list[int],
    channels: int,
    num_classes: int,
    score_thr: float,
    max_per_img: int,
) -> dict[str, Any]:
    zeros = [0.0] * 4
    return {
        "type": "FasterRCNN",
        "data_preprocessor": preprocessor,
        "backbone": backbone,
        "neck": {"type": "FPN", "in_channels": in_channels, "out_channels": channels, "num_outs": 5},
        "rpn_head": {
            "type": "RPNHead",
            "in_channels": channels,
            "feat_channels": channels,
            "anchor_generator": {
                "type": "AnchorGenerator",
                "scales": [8],
                "ratios": [0.5, 1.0, 2.0],
                "strides": [4, 8, 16, 32, 64],
            },
            "bbox_coder": {"type": "DeltaXYWHBBoxCoder", "target_means": zeros, "target_stds": [1.0] * 4},
            "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0},
            "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0},
        },
        "roi_head": {
            "type": "StandardRoIHead",
            "bbox_roi_extractor": {
                "type": "SingleRoIExtractor",
                "roi_layer": {"type": "RoIAlign", "output_size": 7, "sampling_ratio": 0},
                "out_channels": channels,
                "featmap_strides": [4, 8, 16, 32],
            },
            "bbox_head": {
                "type": "Shared2FCBBoxHead",
                "in_channels": channels,
                "fc_out_channels": 1024,
                "roi_feat_size": 7,
                "num_classes": num_classes,
                "bbox_coder": {
                    "type": "DeltaXYWHBBoxCoder",
                    "target_means": zeros,
                    "target_stds": [0.1, 0.1, 0.2, 0.2],
                },
                "reg_class_agnostic": False,
                "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0},
                "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0},
            },
        },
        "train_cfg": {
            "rpn": {
                "assigner": {
                    "type": "MaxIoUAssigner",
                    "pos_iou_thr": 0.7,
                    "neg_iou_thr": 0.3,
                    "min_pos_iou": 0.3,
                    "match_low_quality": True,
                    "ignore_iof_thr": -1,
                },
                "sampler": {
                    "type": "RandomSampler",
                    "num": 256,
                    "pos_fraction": 0.5,
                    "neg_pos_ub": -1,
                    "add_gt_as_proposals": False,
                },
                "allowed_border": -1,
                "pos_weight": -1,
                "debug": False,
            },
            "rpn_proposal": {
                "nms_pre": 2000,
                "max_per_img": 1000,
                "nms": {"type": "nms", "iou_threshold": 0.7},
                "min_bbox_size": 0,
            },
            "rcnn": {
                "assigner": {
                    "type": "MaxIoUAssigner",
                    "pos_iou_thr": 0.5,
                    "neg_iou_thr": 0.5,
                    "min_pos_iou": 0.5,
                    "match_low_quality": False,
                    "ignore_iof_thr": -1,
                },
                "sampler": {
                    "type": "RandomSampler",
                    "num": 512,
                    "pos_fraction": 0.25,
                    "neg_pos_ub": -1,
                    "add_gt_as_proposals": True,
                },
                "pos_weight": -1,
                "debug": False,
            },
        },
        "test_cfg": {
            "rpn": {
                "nms_pre": 1000,
                "max_per_img": 1000,
                "nms": {"type": "nms", "iou_threshold": 0.7},
                "min_bbox_size": 0,
            },
            "rcnn": {"score_thr": score_thr, "nms": {"type": "nms", "iou_threshold": 0.5}, "max_per_img": max_per_img},
        },
    }
