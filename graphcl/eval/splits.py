"""Node splits for the linear-probe protocol: seeded random splits and user-given masks / index sets.

GRACE / GCA evaluate on a random 10% / 10% / 80% train / validation / test split of the nodes, redrawn
for every repeat; PyG datasets with fixed splits ship boolean masks instead, either 1-D (one split, e.g.
Planetoid's public split) or 2-D ``[num_nodes, num_splits]`` (one column per split, e.g. WikiCS).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphcl.eval._arrays import to_numpy
from graphcl.utils.checks import check_positive_int

IndexSplit = tuple[Tensor, Tensor, Tensor]
"""``(train_idx, val_idx, test_idx)``: three 1-D ``LongTensor`` s of node indices."""

_SPLIT_NAMES = ("train", "val", "test")


def random_node_split(
    num_nodes: int,
    train_ratio: float = 0.1,
    val_ratio: float = 0.1,
    seed: int = 0,
) -> IndexSplit:
    """Random train / validation / test node split (the GRACE / GCA 10% / 10% / 80% protocol).

    The split is drawn with a private ``torch.Generator`` seeded with ``seed``, so it is reproducible and
    never touches the global RNG.

    Args:
        num_nodes: Number of nodes :math:`N`.
        train_ratio: Fraction of nodes used for training; the split holds ``int(N * train_ratio)`` nodes.
            (default: ``0.1``)
        val_ratio: Fraction of nodes used for validation; ``int(N * val_ratio)`` nodes, may be ``0``.
            (default: ``0.1``)
        seed: Seed of the permutation. (default: ``0``)

    Returns:
        ``(train_idx, val_idx, test_idx)``, disjoint ``LongTensor`` s covering all nodes; the test split
        holds the remaining ``N - int(N * train_ratio) - int(N * val_ratio)`` nodes.
    """
    check_positive_int(num_nodes, "num_nodes", allow_numpy=True)
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"train_ratio must lie in (0, 1), got {train_ratio!r}")
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"val_ratio must lie in [0, 1), got {val_ratio!r}")
    if train_ratio + val_ratio >= 1.0:
        raise ValueError(
            f"train_ratio + val_ratio must be < 1 so that test nodes remain, got {train_ratio} + {val_ratio}"
        )
    num_train = int(num_nodes * train_ratio)
    num_val = int(num_nodes * val_ratio)
    if num_train == 0:
        raise ValueError(f"train_ratio={train_ratio} leaves no training node out of {num_nodes}")
    if num_nodes - num_train - num_val <= 0:
        raise ValueError(
            f"train_ratio={train_ratio}, val_ratio={val_ratio} leave no test node out of {num_nodes}"
        )

    generator = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(int(num_nodes), generator=generator)
    return perm[:num_train], perm[num_train : num_train + num_val], perm[num_train + num_val :]


def splits_from_masks(train: Any, val: Any, test: Any, num_nodes: int) -> list[IndexSplit]:
    """Turn given boolean masks or index vectors into a list of index splits.

    Each of ``train`` / ``val`` / ``test`` may be a 1-D boolean mask of length ``num_nodes``, a 2-D boolean
    mask ``[num_nodes, num_splits]`` (one column per split, as in PyG's WikiCS) or a 1-D vector of node
    indices. 1-D entries are shared by every column of the 2-D ones (WikiCS has a single test mask).

    Args:
        train: Training mask(s) or indices.
        val: Validation mask(s) or indices (may select no node).
        test: Test mask(s) or indices.
        num_nodes: Number of nodes the masks must cover.

    Returns:
        One ``(train_idx, val_idx, test_idx)`` per split.
    """
    parts = zip((train, val, test), _SPLIT_NAMES, strict=True)
    columns = [_mask_columns(part, num_nodes, name) for part, name in parts]
    widths = {len(cols) for cols in columns if len(cols) > 1}
    if len(widths) > 1:
        raise ValueError(f"the 2-D train/val/test masks disagree on the number of splits: {sorted(widths)}")
    num_splits = widths.pop() if widths else 1

    splits = []
    for s in range(num_splits):
        tr, va, te = (cols[s] if len(cols) > 1 else cols[0] for cols in columns)
        _check_split(tr, va, te, num_nodes, f"split {s}")
        splits.append((torch.from_numpy(tr), torch.from_numpy(va), torch.from_numpy(te)))
    return splits


def as_index_splits(splits: Any, num_nodes: int) -> list[IndexSplit]:
    """Normalise the ``splits`` argument of the evaluators into a list of index splits.

    Args:
        splits: Either one ``(train, val, test)`` triple of masks / index vectors (see
            :func:`splits_from_masks`, 2-D masks give one split per column), or a sequence of such triples.
        num_nodes: Number of nodes.

    Returns:
        One ``(train_idx, val_idx, test_idx)`` per split.
    """
    if not isinstance(splits, Sequence) or isinstance(splits, (str, bytes)) or len(splits) == 0:
        raise ValueError("splits must be a (train, val, test) triple or a non-empty sequence of such triples")
    if len(splits) == 3 and all(_is_array_like(part) for part in splits):
        return splits_from_masks(*splits, num_nodes=num_nodes)
    out: list[IndexSplit] = []
    for i, triple in enumerate(splits):
        if not isinstance(triple, Sequence) or len(triple) != 3:
            raise ValueError(f"splits[{i}] must be a (train, val, test) triple, got {type(triple).__name__}")
        out.extend(splits_from_masks(*triple, num_nodes=num_nodes))
    return out


def _is_array_like(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray)) or (
        isinstance(x, Sequence) and not isinstance(x, (str, bytes)) and (len(x) == 0 or np.isscalar(x[0]))
    )


def _mask_columns(part: Any, num_nodes: int, name: str) -> list[np.ndarray]:
    """One int64 index array per split column of a mask (or a single one for an index vector)."""
    arr = to_numpy(part, name)
    if arr.dtype == np.bool_:
        if arr.ndim not in (1, 2) or arr.shape[0] != num_nodes:
            raise ValueError(
                f"the {name} mask must have shape [{num_nodes}] or [{num_nodes}, num_splits], "
                f"got {tuple(arr.shape)}"
            )
        if arr.ndim == 1:
            return [np.flatnonzero(arr).astype(np.int64)]
        return [np.flatnonzero(arr[:, s]).astype(np.int64) for s in range(arr.shape[1])]
    if arr.size == 0:
        return [np.empty(0, dtype=np.int64)]
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"the {name} split must be a boolean mask or a 1-D vector of integer node indices, "
            f"got dtype {arr.dtype} and shape {tuple(arr.shape)}"
        )
    if arr.min() < 0 or arr.max() >= num_nodes:
        raise ValueError(f"the {name} indices must lie in [0, {num_nodes}), got [{arr.min()}, {arr.max()}]")
    return [arr.astype(np.int64)]


def _check_split(train: np.ndarray, val: np.ndarray, test: np.ndarray, num_nodes: int, where: str) -> None:
    if train.size == 0:
        raise ValueError(f"{where}: the training split selects no node")
    if test.size == 0:
        raise ValueError(f"{where}: the test split selects no node")
    seen = np.zeros(num_nodes, dtype=np.int8)
    for idx, name in zip((train, val, test), _SPLIT_NAMES, strict=True):
        if np.unique(idx).size != idx.size:
            raise ValueError(f"{where}: the {name} split lists a node more than once")
        if seen[idx].any():
            raise ValueError(f"{where}: the {name} split overlaps an earlier one (splits must be disjoint)")
        seen[idx] = 1
