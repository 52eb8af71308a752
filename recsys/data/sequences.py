"""The in-memory sequence dataset every reader returns: one chronological item sequence per user.

Sequences are stored flat (CSR style) so that splitting and batching are tensor operations:
``items[offsets[u]:offsets[u + 1]]`` is user ``u``'s sequence, oldest first. Item ids are ``1..num_items``;
``0`` is reserved for padding (RecBole's ``[PAD]``), so an embedding table needs ``num_items + 1`` rows.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from graphcl.errors import DataError


@dataclass(frozen=True)
class SequenceDataset:
    """User → chronological item sequence, stored flat.

    Attributes:
        name: Dataset name (``"beauty"``, ``"generated"``, a file stem, ...).
        items: ``[total interactions]`` long tensor of item ids in ``1..num_items``, user after user.
        offsets: ``[num_users + 1]`` long tensor; user ``u`` owns ``items[offsets[u]:offsets[u + 1]]``.
        user_ids: The users' original tokens (the first field of a ``.txt`` line, or ``user_id`` of ``.inter``).
        num_items: Number of real items; valid ids are ``1..num_items``.
        item_tokens: Original item token of every internal id (index 0 is ``"[PAD]"``) when the reader
            remapped ids (``.inter`` files), else ``None`` (ids are the file's integers).
        item_titles: Text of every item (index 0 is ``""``) when known, e.g. for the generated dataset and
            MovieLens; semantic models read it.
        item_attributes: Attribute bag of every item (index 0 and items without attributes: ``[]``) when the
            data ships them (MovieLens genres, an S3-Rec ``<Name>_item2attributes.json`` beside the ``.txt``);
            SRA-CL's attribute semantics read it.
        source: Where the data came from (path or ``"generated(...)"``), for provenance.
    """

    name: str
    items: Tensor
    offsets: Tensor
    user_ids: list[str]
    num_items: int
    item_tokens: list[str] | None = None
    item_titles: list[str] | None = None
    source: str = ""
    item_attributes: list[list[Any]] | None = None
    _lengths: Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.items.dtype != torch.long or self.offsets.dtype != torch.long:
            raise TypeError("items and offsets must be torch.long tensors")
        if self.offsets.dim() != 1 or self.offsets.numel() != len(self.user_ids) + 1:
            raise DataError(
                f"{self.source or self.name}: offsets must have num_users + 1 = {len(self.user_ids) + 1} entries, "
                f"got {self.offsets.numel()}"
            )
        if not self.user_ids:
            raise DataError(f"{self.source or self.name}: the dataset has no users")
        if int(self.offsets[0]) != 0 or int(self.offsets[-1]) != self.items.numel():
            raise DataError(f"{self.source or self.name}: offsets must start at 0 and end at len(items)")
        lengths = self.offsets.diff()
        if bool((lengths < 1).any()):
            raise DataError(f"{self.source or self.name}: every user needs at least one item")
        if self.items.numel() and (int(self.items.min()) < 1 or int(self.items.max()) > self.num_items):
            raise DataError(
                f"{self.source or self.name}: item ids must lie in 1..{self.num_items}, got "
                f"{int(self.items.min())}..{int(self.items.max())}"
            )
        for what, table in (("item_titles", self.item_titles), ("item_attributes", self.item_attributes)):
            if table is not None and len(table) != self.num_items + 1:
                raise DataError(f"{self.source or self.name}: {what} needs num_items + 1 = {self.num_items + 1} "
                                f"entries (index 0 = padding), got {len(table)}")
        object.__setattr__(self, "_lengths", lengths)

    @classmethod
    def from_sequences(cls, sequences: Sequence[Sequence[int]], *, name: str = "sequences",
                       user_ids: Sequence[str] | None = None, num_items: int | None = None,
                       **kwargs: object) -> SequenceDataset:
        """Build a dataset from Python lists of item ids (tests, small examples).

        Args:
            sequences: One chronological list of item ids (``>= 1``) per user.
            name: Dataset name.
            user_ids: User tokens; default ``"1"``, ``"2"``, ...
            num_items: Number of items; default the largest id.
            **kwargs: Other :class:`SequenceDataset` fields (``item_titles``, ``source``, ...).
        """
        lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
        items = torch.tensor([i for s in sequences for i in s], dtype=torch.long)
        offsets = torch.zeros(len(sequences) + 1, dtype=torch.long)
        offsets[1:] = lengths.cumsum(0)
        users = list(user_ids) if user_ids is not None else [str(u + 1) for u in range(len(sequences))]
        if num_items is None:
            num_items = int(items.max()) if items.numel() else 0
        return cls(name=name, items=items, offsets=offsets, user_ids=users, num_items=num_items, **kwargs)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_interactions(self) -> int:
        return self.items.numel()

    @property
    def lengths(self) -> Tensor:
        """``[num_users]`` sequence lengths."""
        return self._lengths

    def __len__(self) -> int:
        return self.num_users

    def sequence(self, user: int) -> Tensor:
        """User ``user``'s (0-based row) item ids, oldest first."""
        return self.items[self.offsets[user]:self.offsets[user + 1]]

    def sequences(self) -> list[list[int]]:
        """All sequences as Python lists (for tests and writers; not for hot paths)."""
        return [chunk.tolist() for chunk in torch.split(self.items, self.lengths.tolist())]

    def statistics(self) -> dict[str, float]:
        """Users, items, interactions and length statistics (the numbers the data README verifies)."""
        lengths = self.lengths.double()
        return {
            "users": self.num_users,
            "items": self.num_items,
            "interactions": self.num_interactions,
            "avg_len": float(lengths.mean()),
            "min_len": int(self.lengths.min()),
            "max_len": int(self.lengths.max()),
        }

    def __repr__(self) -> str:
        s = self.statistics()
        return (f"SequenceDataset(name={self.name!r}, users={s['users']}, items={s['items']}, "
                f"interactions={s['interactions']}, avg_len={s['avg_len']:.2f})")
