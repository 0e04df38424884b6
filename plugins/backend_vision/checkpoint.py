"""Loading checkpoints safely under torch >= 2.6 (``weights_only=True``), in one place.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, plain containers and allow-listed
classes. mmengine's own checkpoints also carry its ``HistoryBuffer`` (whose statistics methods are pickled as
``getattr(HistoryBuffer, "min")``) and numpy arrays in their ``meta``. :func:`mmengine_safe_globals` allow-lists
exactly those, with ``getattr`` replaced by a function that only returns those four methods, while mmengine loads
a checkpoint (resume); and
:func:`load_user_checkpoint` loads a user's weights file the same way and checks that it fits the model. Nothing
here ever unpickles with ``weights_only=False``.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_gpt.errors import TrainingError

HISTORY_BUFFER_METHODS = ("min", "max", "current", "mean")


def _history_buffer_method(owner: Any, name: str) -> Any:
    """Stands in for ``getattr`` while unpickling: only ``HistoryBuffer``'s statistics methods are reachable."""
    from mmengine.logging import HistoryBuffer

    if owner is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f"Unsupported global: getattr({owner!r}, {name!r}) is not allowed in a checkpoint")


def _allowed_globals() -> list[Any]:
    import numpy as np
    from mmengine.logging import HistoryBuffer

    allowed: list[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    allowed += [(_history_buffer_method, "__builtin__.getattr"), (_history_buffer_method, "builtins.getattr")]
    allowed += [type(np.dtype(name)) for name in ("float64", "float32", "int64", "int32", "bool", "uint8")]
    allowed += [np.float64, np.float32, np.int64, np.int32]
    # numpy >= 2 pickles arrays through numpy._core.multiarray (numpy 1.x: numpy.core.multiarray)
    multiarray = importlib.import_module("numpy._core.multiarray" if hasattr(np, "_core") else "numpy.core.multiarray")
    allowed += [multiarray._reconstruct, multiarray.scalar]
    return allowed


@contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """While active, ``torch.load(weights_only=True)`` also accepts what mmengine checkpoints contain."""
    import torch

    try:
        with torch.serialization.safe_globals(_allowed_globals()):
            yield
    except pickle.UnpicklingError as exc:
        raise TrainingError(f"checkpoint refused by safe loading: {_first_line(exc)}") from None


@dataclass
class LoadReport:
    """What a checkpoint contributed to the model: tensors loaded, and those left as initialised."""

    loaded: int
    missing: list[str] = field(default_factory=list)  # model tensors the checkpoint lacks (kept as initialised)
    mismatched: list[str] = field(default_factory=list)  # in both, of another shape (e.g. a head for 80 classes)
    unexpected: list[str] = field(default_factory=list)  # checkpoint tensors the model has no place for

    @property
    def skipped(self) -> list[str]:
        """Model tensors not loaded (missing or of another shape), sorted."""
        return sorted(self.missing + self.mismatched)

    def summary(self) -> str:
        """One line: loaded, re-initialised (by top-level module), shape mismatches (the head when the class count
        differs) and unused checkpoint tensors."""
        text = f"loaded {self.loaded} tensors"
        if self.mismatched:
            text += f"; re-initialised, shape differs: {_grouped(self.mismatched)}"
        if self.missing:
            text += f"; initialised afresh, not in the checkpoint: {_grouped(self.missing)}"
        if self.unexpected:
            text += f"; unused from the checkpoint: {_grouped(self.unexpected)}"
        return text


def load_user_checkpoint(model: Any, path: Path) -> LoadReport:
    """Load a local checkpoint into ``model``, or raise :class:`TrainingError` when it does not fit.

    Accepts an mmengine/mmdet checkpoint (``{"state_dict": ...}``), a plain state dict, and bare backbone weights
    (ResNet keys such as ``conv1.weight``, as torchvision saves them, mapped under ``backbone.``). Every backbone
    tensor of the model outside normalisation layers must be found with the same shape; normalisation layers
    (group norm has no place for batch-norm statistics), necks and heads may differ (e.g. a COCO detector
    fine-tuned to fewer classes) and keep their initialisation, as the report says.
    """
    import torch

    if not path.is_file():
        raise TrainingError(f"checkpoint {path} not found (fix options.checkpoint in the model card)")
    with mmengine_safe_globals():
        try:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, ValueError) as exc:
            raise TrainingError(f"checkpoint {path} cannot be read: {_first_line(exc)}") from None
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor) for v in state.values()):
        raise TrainingError(f"checkpoint {path} holds no state dict of tensors (save model.state_dict())")
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    target = model.state_dict()
    prefix = "" if any(k in target for k in state) else "backbone."  # bare backbone weights (torchvision's keys)
    state = {f"{prefix}{k}": v for k, v in state.items()}
    fitting = {k: v for k, v in state.items() if k in target and target[k].shape == v.shape}
    norms = _norm_tensors(model)
    backbone = [k for k in target if k.startswith("backbone.") and k not in norms]
    unfit = [k for k in backbone if k not in fitting]
    if not fitting or unfit:
        example = unfit[0] if unfit else next(iter(target))
        found = tuple(state[example].shape) if example in state else "absent"
        raise TrainingError(
            f"checkpoint {path} does not fit the model: {len(unfit)} of {len(backbone)} backbone tensors missing or "
            f"of another shape (e.g. {example}: checkpoint {found}, model {tuple(target[example].shape)}); "
            "pick the detector and depth the checkpoint was trained with"
        )
    model.load_state_dict(fitting, strict=False)
    counted = [k for k in target if not k.endswith("num_batches_tracked")]
    return LoadReport(
        loaded=len([k for k in fitting if not k.endswith("num_batches_tracked")]),
        missing=sorted(k for k in counted if k not in state),
        mismatched=sorted(k for k in counted if k in state and k not in fitting),
        unexpected=sorted(k.removeprefix(prefix) for k in state if k not in target),
    )


def _norm_tensors(model: Any) -> set[str]:
    """State-dict keys of the model's normalisation layers (batch, group, layer and instance norm)."""
    import torch

    kinds = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)
    return {
        f"{name}.{key}" if name else key
        for name, module in model.named_modules()
        if isinstance(module, kinds)
        for key in module.state_dict()
    }


def _grouped(keys: list[str]) -> str:
    """``bbox_head.retina_cls (2), neck (12)``: counts by the first two name parts, the largest groups first."""
    counts: dict[str, int] = {}
    for key in keys:
        parts = key.split(".")
        group = ".".join(parts[:2]) if len(parts) > 2 else parts[0]
        counts[group] = counts.get(group, 0) + 1
    shown = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    text = ", ".join(f"{group} ({count})" for group, count in shown[:4])
    return text + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


BOILERPLATE = ("Weights only load failed", "Please file an issue", "Check the documentation")


def _first_line(exc: BaseException) -> str:
    """The line that says why (torch wraps it in paragraphs of advice, including to drop weights_only)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith(BOILERPLATE)]
    reason = (reasons or lines or [type(exc).__name__])[0]
    return reason.removeprefix("WeightsUnpickler error: ").split(" was not an allowed global")[0]
