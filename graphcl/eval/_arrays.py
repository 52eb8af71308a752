"""Input conversion shared by the evaluators: tensors (CPU or CUDA) and array-likes -> NumPy."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_numpy(x: Any, name: str) -> np.ndarray:
    """Detach a tensor (any device) or wrap an array-like as a NumPy array.

    Args:
        x: A ``torch.Tensor``, ``np.ndarray`` or anything ``np.asarray`` accepts.
        name: The argument's name, used in error messages.

    Returns:
        A NumPy array (a view where no copy is needed).
    """
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a tensor or array-like, got {type(x).__name__}") from exc


def embeddings_as_numpy(z: Any, name: str = "z") -> np.ndarray:
    """Embeddings as a finite ``float64`` matrix ``[N, D]``.

    Args:
        z: Node embeddings.
        name: The argument's name, used in error messages.
    """
    arr = to_numpy(z, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [num_nodes, dim] matrix, got shape {tuple(arr.shape)}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def labels_as_numpy(y: Any, num_nodes: int | None = None, name: str = "y") -> np.ndarray:
    """Class labels as a 1-D array, optionally checked against the number of nodes.

    Args:
        y: Labels, one per node (a ``[N, 1]`` column is flattened).
        num_nodes: Expected length, or ``None`` to skip the check.
        name: The argument's name, used in error messages.
    """
    arr = to_numpy(y, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per node), got shape {tuple(arr.shape)}")
    if num_nodes is not None and arr.shape[0] != num_nodes:
        raise ValueError(f"{name} has {arr.shape[0]} labels but the embeddings have {num_nodes} rows")
    return arr


def l2_normalize_rows(z: np.ndarray) -> np.ndarray:
    """Scale every row to unit Euclidean norm (all-zero rows stay zero)."""
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.maximum(norms, np.finfo(z.dtype).tiny)
