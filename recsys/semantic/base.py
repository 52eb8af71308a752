"""The semantic-source interface of SRA-CL (Cui et al., 2025): item vectors and user (window) vectors.

A source turns side information (item text, attribute bags, a precomputed matrix, LLM summaries) into

* ``item_vectors(num_items)`` — ``[num_items + 1, D]`` float32, row ``i`` for item id ``i`` and row 0 (padding)
  all-zero. An item without side information also gets an all-zero row: retrieval never returns it and gives it
  no neighbours, so it is simply never substituted (counted in ``describe()["missing_items"]``) rather than
  being given arbitrary neighbours;
* ``window_vectors(windows, users)`` — ``[N, D]``: by default the recency-weighted mean of the window's item
  vectors (:func:`recsys.semantic.windows.window_mean_vectors`); text and LLM sources can embed a text per
  window instead (``user_vectors="text"``), a precomputed source can look windows up by key.

Every matrix goes through :func:`check_item_matrix`: wrong row counts and NaN/inf rows are errors that name the
source, never silently wrong neighbours.
"""
from __future__ import annotations

import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from graphcl.errors import ConfigError, DataError
from recsys.semantic.windows import window_mean_vectors


def check_item_matrix(matrix: Tensor, num_items: int, what: str) -> Tensor:
    """Validate an item-embedding matrix and return it as ``[num_items + 1, D]`` float32 with a zero row 0.

    Accepts ``num_items + 1`` rows (row 0 = padding, overwritten with zeros, as the reference stores the
    embedding of the string "None" there) or ``num_items`` rows (item ``i`` in row ``i - 1``).

    Raises:
        DataError: wrong dimensionality or row count, or NaN/inf values (naming ``what`` and the item ids).
    """
    if not isinstance(matrix, Tensor):
        matrix = torch.as_tensor(matrix)
    if matrix.dim() != 2:
        raise DataError(f"{what}: expected a 2-D [items, dim] matrix, got shape {tuple(matrix.shape)}")
    if matrix.size(0) == num_items:
        matrix = torch.cat([matrix.new_zeros(1, matrix.size(1)), matrix], 0)
    elif matrix.size(0) != num_items + 1:
        raise DataError(
            f"{what}: {matrix.size(0)} embedding rows do not match the dataset's {num_items} items "
            f"(expected {num_items} rows, or {num_items + 1} with a padding row 0)"
        )
    matrix = matrix.float().clone()
    matrix[0] = 0.0
    bad = ~torch.isfinite(matrix).all(1)
    if bad.any():
        ids = torch.nonzero(bad).flatten().tolist()
        raise DataError(f"{what}: {len(ids)} item rows contain NaN or inf values (item ids {ids[:10]}...)")
    return matrix


def missing_rows(item_vectors: Tensor) -> int:
    """Number of real items (rows 1..) whose vector is all-zero, i.e. without side information."""
    return int((item_vectors[1:].abs().sum(1) == 0).sum())


class SemanticSource(ABC):
    """Base class: build item vectors once, derive window vectors from them (or from the source's own data).

    Args:
        user_vectors: ``"mean"`` (recency-weighted mean of item vectors), or a mode the subclass supports.
        recency_decay: ``γ`` of the recency-weighted mean (``1`` = plain mean).
    """

    name = "semantic"
    supported_user_modes: tuple[str, ...] = ("mean",)

    def __init__(self, *, user_vectors: str = "mean", recency_decay: float = 0.9) -> None:
        if user_vectors not in self.supported_user_modes:
            raise ConfigError(
                f"user_vectors={user_vectors!r} is not supported by the {self.name} source; "
                f"choose one of {list(self.supported_user_modes)}"
            )
        if not 0.0 < recency_decay <= 1.0:
            raise ConfigError(f"recency_decay must be in (0, 1], got {recency_decay}")
        self.user_vectors = user_vectors
        self.recency_decay = float(recency_decay)
        self._items: Tensor | None = None
        self._num_items: int | None = None
        self.item_seconds = 0.0
        self.window_seconds = 0.0

    @abstractmethod
    def _item_matrix(self, num_items: int) -> Tensor:
        """Raw item matrix (``num_items`` or ``num_items + 1`` rows); validated by :meth:`item_vectors`."""

    def item_vectors(self, num_items: int) -> Tensor:
        """``[num_items + 1, D]`` float32 item vectors, row 0 zero (built once, then reused)."""
        if self._items is None or self._num_items != num_items:
            start = time.perf_counter()
            items = check_item_matrix(self._item_matrix(num_items), num_items, self.describe_source())
            missing = missing_rows(items)
            if missing == num_items:
                raise DataError(f"{self.describe_source()}: none of the {num_items} items has side information")
            if missing:
                warnings.warn(
                    f"{self.describe_source()}: {missing} of {num_items} items have no side information; they get "
                    "no semantic neighbours (never substituted) and are never retrieved",
                    stacklevel=2,
                )
            self._items, self._num_items = items, num_items
            self.item_seconds = time.perf_counter() - start
        return self._items

    def window_vectors(self, windows: Tensor, users: Tensor | None = None, *, num_items: int | None = None,
                       user_ids: Sequence[str] | None = None) -> Tensor:
        """``[N, D]`` semantic vectors of ``[N, L]`` windows (padding 0); ``users`` ``[N]`` for keyed sources.

        ``user_ids`` (the dataset's user tokens, indexed by ``users``) makes a keyed source build its
        ``"uid:i1:..."`` keys from the tokens; without it the numbers in ``users`` are the ``uid`` field.
        """
        start = time.perf_counter()
        if self.user_vectors == "mean":
            if self._items is None:
                if num_items is None:
                    raise ValueError("call item_vectors(num_items) first or pass num_items")
                self.item_vectors(num_items)
            out = window_mean_vectors(self._items, windows, decay=self.recency_decay)
        else:
            out = self._window_matrix(windows, users, user_ids)
            if out.shape[0] != windows.size(0) or not torch.isfinite(out).all():
                raise DataError(f"{self.describe_source()}: window vectors are malformed (shape {tuple(out.shape)})")
        self.window_seconds = time.perf_counter() - start
        return out.float()

    def _window_matrix(self, windows: Tensor, users: Tensor | None,
                       user_ids: Sequence[str] | None = None) -> Tensor:
        raise ConfigError(f"user_vectors={self.user_vectors!r} is not implemented by the {self.name} source")

    def describe_source(self) -> str:
        return f"{self.name} source"

    def describe(self) -> dict[str, Any]:
        """What a result records about the semantics: source, user-vector mode, missing items, build times."""
        info: dict[str, Any] = {
            "source": self.name,
            "user_vectors": self.user_vectors,
            "recency_decay": self.recency_decay,
            "item_seconds": round(self.item_seconds, 3),
            "window_seconds": round(self.window_seconds, 3),
        }
        if self._items is not None:
            info["dim"] = int(self._items.size(1))
            info["missing_items"] = missing_rows(self._items)
        return info
