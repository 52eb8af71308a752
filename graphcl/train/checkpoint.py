"""Training checkpoints that hold only tensors and plain values (loadable with ``weights_only=True``).

Unlike checkpoints that pickle whole objects (configs, models), these never execute code when loaded, stay
readable across library versions, and can be shared safely.
"""
from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graphcl.errors import DataError
from graphcl.safe_load import load_torch
from graphcl.train._primitives import to_primitive
from graphcl.train.rng import get_rng_state


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper (or the model itself)."""
    wrappers = (nn.parallel.DistributedDataParallel, nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


def library_versions() -> dict[str, str]:
    """Versions recorded in every checkpoint: ``graphrec-cl``, ``torch``, ``torch_geometric``, ``python``."""
    import torch_geometric

    import graphcl

    return {
        "graphrec-cl": graphcl.__version__,
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "python": platform.python_version(),
    }


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    **extra: Any,
) -> Path:
    """Write a checkpoint atomically (temporary file + ``os.replace``).

    The file holds ``{"model", "optimizer", "epoch", "best_value", "best_epoch", "config", "versions", "rng"}``,
    plus ``"best_state"`` and any other ``extra`` keys when given. Paths, NumPy values, enums and devices in
    ``extra`` are converted to plain values; anything else that is not a tensor, number, string, list or dict
    is rejected here rather than failing later when loading with ``weights_only=True``.

    Args:
        path: Destination file; parent folders are created.
        model: The model (a DDP / DataParallel wrapper is unwrapped, so keys carry no ``module.`` prefix).
        optimizer: Its optimiser, or ``None`` (stored as ``None``).
        epoch: The last completed epoch (1-based).
        **extra: ``best_value``, ``best_epoch``, ``best_state`` (a state dict), ``config`` (a dict), ``rng``
            (from :func:`~graphcl.train.rng.get_rng_state`; captured now when omitted) and free-form entries.

    Returns:
        The path written.
    """
    path = Path(path)
    payload: dict[str, Any] = {
        "model": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "epoch": int(epoch),
        "best_value": extra.pop("best_value", None),
        "best_epoch": extra.pop("best_epoch", None),
        "config": extra.pop("config", None) or {},
        "versions": library_versions(),
        "rng": extra.pop("rng", None) or get_rng_state(),
    }
    if payload["best_value"] is not None:
        payload["best_value"] = float(payload["best_value"])
    if extra.get("best_state") is None:
        extra.pop("best_state", None)
    payload.update(extra)
    payload = to_primitive(payload, "checkpoint")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device | None = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain values only, see
    :func:`graphcl.safe_load.load_torch`; a file that pickles anything else is refused, never run).

    RNG states are returned but not restored; use :func:`~graphcl.train.rng.set_rng_state` for that.

    Args:
        path: The checkpoint file.
        model: When given, its weights are loaded from ``checkpoint["model"]`` (strictly).
        optimizer: When given, its state is loaded from ``checkpoint["optimizer"]``.
        map_location: Where tensors are loaded to (``torch.load``'s argument).

    Returns:
        The checkpoint dictionary.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataError: The file is not a readable checkpoint (:class:`~graphcl.safe_load.UnsafeFileError` when it
            pickles objects other than tensors and plain values), or does not match ``model`` / ``optimizer``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    checkpoint = load_torch(path, what="checkpoint", map_location=map_location)
    if not isinstance(checkpoint, Mapping) or "model" not in checkpoint or "epoch" not in checkpoint:
        raise DataError(f"{path} is not a graphcl checkpoint (expected a dict with 'model' and 'epoch')")
    checkpoint = dict(checkpoint)
    if model is not None:
        try:
            unwrap_model(model).load_state_dict(checkpoint["model"])
        except RuntimeError as exc:
            raise DataError(f"checkpoint {path} does not match the model: {exc}") from exc
    if optimizer is not None:
        if checkpoint.get("optimizer") is None:
            raise DataError(f"checkpoint {path} holds no optimiser state")
        try:
            optimizer.load_state_dict(checkpoint["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise DataError(f"checkpoint {path} does not match the optimiser: {exc}") from exc
    return checkpoint
