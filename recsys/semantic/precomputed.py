"""Precomputed item (and optionally window) embeddings from ``.pt`` / ``.npy`` files, for SRA-CL (Cui et al., 2025).

This is how the reference pipeline hands its semantics to the recommender: an item matrix
(``(n_items + 1) × D``, row 0 = padding) and a window matrix whose rows are identified by key strings
``"uid:i1:...:ik"``, ``uid`` being the user's token in the dataset file (``SequenceSplit.user_ids``, handed
over by :func:`~recsys.semantic.index.build_semantic_index`), not its 0-based row. Accepted layouts:

* item file: a tensor / array with ``num_items + 1`` rows (row 0 padding) or ``num_items`` rows (item ``i`` at
  row ``i - 1``); or, with ``item_ids`` (or a ``.pt`` dict ``{"embeddings": M, "ids": [...]}``), any row order —
  the ids are checked to be unique and inside ``1..num_items`` (ids not covered get no vector and are counted);
* window file (``user_vectors="precomputed"``): a ``.pt`` dict ``{"embeddings": M, "keys": [...]}`` or a matrix
  plus ``window_keys`` (a list or a ``.json`` / one-key-per-line ``.txt`` file). Every requested window must be
  present; a missing key is an error, never a silently wrong vector.

Pickle files are not read (``torch.load(weights_only=True)`` only).
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphcl.errors import DataError
from graphcl.safe_load import load_numpy, load_torch
from recsys.semantic.base import SemanticSource
from recsys.semantic.windows import window_keys


def _load_matrix(path: Path) -> tuple[Tensor, list | None, list | None]:
    """(matrix, ids, keys) from a ``.pt`` / ``.npy`` file."""
    if not path.is_file():
        raise DataError(f"{path}: embedding file not found")
    if path.suffix == ".npy":
        return torch.from_numpy(load_numpy(path, what="embedding matrix")), None, None
    if path.suffix == ".pt":
        value = load_torch(path, what="embedding file")
        if isinstance(value, Tensor):
            return value, None, None
        if isinstance(value, dict) and isinstance(value.get("embeddings"), Tensor):
            ids = value.get("ids")
            return value["embeddings"], None if ids is None else list(torch.as_tensor(ids).tolist()), value.get("keys")
        raise DataError(f"{path}: expected a tensor or a dict with an 'embeddings' tensor")
    raise DataError(f"{path}: unsupported embedding file type {path.suffix!r} (use .pt or .npy)")


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: {what} file is not valid JSON ({exc})") from None


def _load_keys(keys: Sequence[str] | str | os.PathLike) -> list[str]:
    if isinstance(keys, (str, os.PathLike)):  # a file; one string is never a list of keys
        path = Path(keys)
        if path.suffix == ".json":
            value = _read_json(path, "window key")
            # The reference's keys_to_int maps key -> row; a plain list is the keys in row order.
            if isinstance(value, dict):
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
                    bad = next(k for k, v in value.items() if not isinstance(v, int) or isinstance(v, bool))
                    raise DataError(f"{path}: key {bad!r} maps to {value[bad]!r}, expected an integer row")
                ordered = sorted(value.items(), key=lambda kv: kv[1])
                if [v for _, v in ordered] != list(range(len(ordered))):
                    raise DataError(f"{path}: key -> row mapping is not a permutation of 0..{len(ordered) - 1}")
                return [k for k, _ in ordered]
            if not isinstance(value, list):
                raise DataError(f"{path}: expected a JSON list of keys or a {{key: row}} object")
            return [str(k) for k in value]
        if not path.is_file():
            raise DataError(f"{path}: window key file not found")
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [str(k) for k in keys]


def _load_ids(item_ids: Sequence[int] | str | os.PathLike) -> list[int]:
    if isinstance(item_ids, (str, os.PathLike)):
        path = Path(item_ids)
        if path.suffix == ".npy":
            if not path.is_file():
                raise DataError(f"{path}: item id file not found")
            ids = load_numpy(path, what="item ids").tolist()
        else:
            ids = _read_json(path, "item id")
    else:
        ids = list(item_ids)
    if not isinstance(ids, list):
        raise DataError(f"{item_ids}: expected a list of item ids, got {type(ids).__name__}")
    bad = next((i for i in ids if isinstance(i, bool) or not (
        isinstance(i, int) or (isinstance(i, float) and i.is_integer()))), None)
    if bad is not None:
        raise DataError(f"{item_ids if isinstance(item_ids, (str, os.PathLike)) else 'item_ids'}: "
                        f"item id {bad!r} is not an integer")
    return ids


class PrecomputedSource(SemanticSource):
    """Item (and window) vectors read from files.

    Args:
        item_file: ``.pt`` or ``.npy`` item embedding matrix.
        window_file: Optional ``.pt`` / ``.npy`` window embedding matrix (enables ``user_vectors="precomputed"``).
        item_ids: Optional item id of every row of ``item_file`` (list, or ``.npy``/``.json`` file).
        window_keys: Keys of the rows of ``window_file`` (when the file itself does not carry them).
        user_vectors: ``"mean"`` (default) or ``"precomputed"`` (look windows up in ``window_file``).
        recency_decay: ``γ`` of the recency-weighted mean.
    """

    name = "precomputed"
    supported_user_modes = ("mean", "precomputed")

    def __init__(
        self,
        item_file: str | os.PathLike,
        window_file: str | os.PathLike | None = None,
        *,
        item_ids: Sequence[int] | str | os.PathLike | None = None,
        window_keys: Sequence[str] | str | os.PathLike | None = None,
        user_vectors: str | None = None,
        recency_decay: float = 0.9,
    ) -> None:
        if user_vectors is None:
            user_vectors = "precomputed" if window_file is not None else "mean"
        super().__init__(user_vectors=user_vectors, recency_decay=recency_decay)
        if user_vectors == "precomputed" and window_file is None:
            raise DataError("user_vectors='precomputed' needs a window_file")
        self.item_file = Path(item_file)
        self.window_file = None if window_file is None else Path(window_file)
        self.item_ids = item_ids
        self.window_key_source = window_keys

    def _item_matrix(self, num_items: int) -> Tensor:
        matrix, ids, _ = _load_matrix(self.item_file)
        if self.item_ids is not None:
            ids = _load_ids(self.item_ids)
        if ids is None:
            return matrix
        if matrix.dim() != 2 or len(ids) != matrix.size(0):
            raise DataError(f"{self.item_file}: {len(ids)} item ids for {tuple(matrix.shape)} embedding rows")
        ids_t = torch.as_tensor([int(i) for i in ids], dtype=torch.long)
        if ids_t.unique().numel() != ids_t.numel():
            raise DataError(f"{self.item_file}: item ids are not unique")
        bad = ids_t[(ids_t < 1) | (ids_t > num_items)]
        if bad.numel():
            raise DataError(
                f"{self.item_file}: item ids {bad[:5].tolist()} are outside the dataset's ids 1..{num_items}"
            )
        out = matrix.new_zeros(num_items + 1, matrix.size(1))
        out[ids_t] = matrix
        return out

    def _window_matrix(self, windows: Tensor, users: Tensor | None,
                       user_ids: Sequence[str] | None = None) -> Tensor:
        if users is None:
            raise DataError("precomputed window vectors are looked up by 'uid:i1:...' keys: pass users")
        matrix, _, keys = _load_matrix(self.window_file)
        if self.window_key_source is not None:
            keys = _load_keys(self.window_key_source)
        if keys is None:
            raise DataError(f"{self.window_file}: no window keys (store {{'embeddings', 'keys'}} or pass window_keys)")
        if len(keys) != matrix.size(0):
            raise DataError(f"{self.window_file}: {len(keys)} window keys for {matrix.size(0)} embedding rows")
        row_of = {k: r for r, k in enumerate(keys)}
        wanted = window_keys(users, windows, user_ids=user_ids)
        rows = [row_of.get(k, -1) for k in wanted]
        missing = [k for k, r in zip(wanted, rows) if r < 0]
        if missing:
            raise DataError(
                f"{self.window_file}: {len(missing)} of {len(wanted)} windows have no embedding "
                f"(e.g. key {missing[0]!r}; keys are '<user token>:i1:...:ik'); the file was built for other "
                f"windows or users (maxlen, split or user ids differ?)"
            )
        out = matrix[torch.as_tensor(rows, dtype=torch.long)].float()
        if not torch.isfinite(out).all():
            raise DataError(f"{self.window_file}: window embeddings contain NaN or inf")
        return out

    def describe_source(self) -> str:
        return f"precomputed source ({self.item_file})"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "item_file": str(self.item_file)}
