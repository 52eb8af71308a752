"""Leave-one-out split with prefix expansion into fixed-width ``[N, L]`` windows.

For a user with sequence ``s_1 … s_n`` (``n >= 3``):

* **test**: target ``s_n``, input ``s_1 … s_{n-1}``;
* **valid**: target ``s_{n-1}``, input ``s_1 … s_{n-2}``;
* **train**: one sample per target position ``t = 2 … n-2`` with input ``s_1 … s_{t-1}``,
  i.e. ``n - 3`` samples per user (131,413 on Beauty, 189,543 on Sports).

Every input keeps its last ``max_len`` items. ``padding="right"`` (RecBole / MCLRec) places the items at
positions ``0 … len-1`` and zeros after them; ``padding="left"`` (SRA-CL) places the most recent item at
position ``L - 1``. Users with fewer than 3 items cannot be split: they are skipped and the count is logged.

The samples are not materialised: each holds its user, the end of its input in the dataset's flat item tensor,
its length and its target (4 longs, 32 bytes, instead of an ``[L]`` window of ``8 L`` bytes), and a batch's
``[B, L]`` windows are gathered from the flat tensor when it is indexed (one gather, no per-user loop).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from graphcl.errors import ConfigError, DataError
from recsys.data.sequences import SequenceDataset

logger = logging.getLogger("recsys.data")

Padding = Literal["right", "left"]
PADDINGS = ("right", "left")


class SequenceBatch(NamedTuple):
    """One batch of next-item samples (RecBole's ``item_id_list`` / ``item_length`` / ``item_id``).

    Attributes:
        item_seq: ``[B, L]`` long, item ids with ``0`` as padding (side given by the split's ``padding``).
        item_seq_len: ``[B]`` long, number of real items in each row (``>= 1``).
        target: ``[B]`` long, the next item to predict.
        user: ``[B]`` long, the 0-based user row of each sample.
    """

    item_seq: Tensor
    item_seq_len: Tensor
    target: Tensor
    user: Tensor


class SequenceSamples(Dataset):
    """Fixed-width next-item samples; indexing with a list / tensor of indices returns a whole batch.

    Two storage forms with the same behaviour: the constructor takes the ``[N, L]`` windows themselves (small,
    hand-built sets); :meth:`from_flat` (what :func:`leave_one_out` returns) keeps only where each window ends in
    a flat item tensor and gathers the ``[B, L]`` windows of a batch when it is indexed, so ``N`` samples cost
    ``32 N`` bytes beside the flat tensor instead of ``8 N L``.

    Attributes:
        item_seq_len, target, user: As in :class:`SequenceBatch`, for all ``N`` samples.
        padding: ``"right"`` or ``"left"``.
        num_items: Items of the dataset (ids ``1..num_items``).
    """

    def __init__(self, item_seq: Tensor, item_seq_len: Tensor, target: Tensor, user: Tensor, *,
                 padding: Padding, num_items: int) -> None:
        _check_padding(padding)
        self._seq: Tensor | None = item_seq
        self._items: Tensor | None = None
        self._end: Tensor | None = None
        self._width = item_seq.size(1)
        self.item_seq_len, self.target, self.user = item_seq_len, target, user
        self.padding = padding
        self.num_items = num_items

    @classmethod
    def from_flat(cls, items: Tensor, end: Tensor, item_seq_len: Tensor, user: Tensor, *, max_len: int,
                  padding: Padding, num_items: int) -> SequenceSamples:
        """Samples whose windows are gathered from ``items`` on demand.

        Args:
            items: ``[T]`` flat item ids (a :class:`~recsys.data.sequences.SequenceDataset`'s ``items``; kept by
                reference, not copied).
            end: ``[N]`` exclusive end of each input in ``items``; the target is ``items[end]``.
            item_seq_len: ``[N]`` input lengths (``1..max_len``); the window is ``items[end - len:end]``.
            user: ``[N]`` 0-based user rows.
            max_len: Window width ``L``.
            padding: ``"right"`` or ``"left"``.
            num_items: Items of the dataset.
        """
        _check_padding(padding)
        if max_len < 1:
            raise ConfigError(f"max_len must be >= 1, got {max_len}")
        samples = cls.__new__(cls)
        samples._seq, samples._items, samples._end, samples._width = None, items, end, max_len
        samples.item_seq_len, samples.target, samples.user = item_seq_len, items[end], user
        samples.padding, samples.num_items = padding, num_items
        return samples

    def __len__(self) -> int:
        return self.target.numel()

    @property
    def max_len(self) -> int:
        return self._width

    @property
    def materialized(self) -> bool:
        """Whether the ``[N, L]`` windows are stored (constructor) rather than gathered per batch (:meth:`from_flat`)."""
        return self._seq is not None

    @property
    def nbytes(self) -> int:
        """Bytes of the samples' own tensors: the stored windows, or the per-sample ends (:meth:`from_flat`), plus
        lengths, targets and users; the flat item tensor shared with the dataset is not counted."""
        own = (self._seq, self._end, self.item_seq_len, self.target, self.user)
        return sum(t.element_size() * t.numel() for t in own if t is not None)

    @property
    def item_seq(self) -> Tensor:
        """``[N, L]`` windows of all samples: the stored tensor, or a new one built in row blocks (``8 N L``
        bytes; for consumers that need every window at once, e.g. a retrieval index; batches use indexing)."""
        if self._seq is not None:
            return self._seq
        out = torch.empty(len(self), self._width, dtype=torch.long)
        for start in range(0, len(self), WINDOW_BLOCK_ROWS):
            rows = slice(start, start + WINDOW_BLOCK_ROWS)
            out[rows] = self._windows(self._end[rows], self.item_seq_len[rows])
        return out

    def _windows(self, end: Tensor, length: Tensor) -> Tensor:
        """``[n, L]`` windows ending (exclusive) at ``end`` ``[n]`` with ``length`` ``[n]`` items each."""
        assert self._items is not None
        cols = torch.arange(self._width)
        if self.padding == "right":
            valid = cols[None, :] < length[:, None]
            index = end[:, None] - length[:, None] + cols[None, :]
        else:
            valid = cols[None, :] >= (self._width - length)[:, None]
            index = end[:, None] - self._width + cols[None, :]
        index.clamp_(min=0, max=max(self._items.numel() - 1, 0))
        return self._items[index].masked_fill_(~valid, 0)

    def max_item(self) -> int:
        """Largest item id in any window or target (``0`` for an empty set), computed in row blocks."""
        if len(self) == 0:
            return 0
        if self._seq is not None:
            return max(int(self._seq.max()), int(self.target.max()))
        largest = int(self.target.max())
        for start in range(0, len(self), WINDOW_BLOCK_ROWS):
            rows = slice(start, start + WINDOW_BLOCK_ROWS)
            largest = max(largest, int(self._windows(self._end[rows], self.item_seq_len[rows]).max()))
        return largest

    def __getitem__(self, index: int | list[int] | Tensor) -> SequenceBatch:
        index = torch.as_tensor(index, dtype=torch.long)
        if self._seq is not None:
            seq = self._seq[index]
        else:
            flat = index.reshape(-1)
            seq = self._windows(self._end[flat], self.item_seq_len[flat]).view(*index.shape, self._width)
        return SequenceBatch(seq, self.item_seq_len[index], self.target[index], self.user[index])


WINDOW_BLOCK_ROWS = 65536
"""Windows built at once when all of them are materialised (bounds the temporaries to a few ``8 L`` MB blocks)."""


@dataclass(frozen=True)
class SequenceSplit:
    """The three splits of :func:`leave_one_out`, plus what produced them.

    ``user_ids`` are the dataset's user tokens, indexed by the 0-based user rows of the samples' ``user``
    (``None`` for a split built by hand without them); keyed lookups such as SRA-CL's ``"uid:i1:...:ik"``
    window files use the token, not the row.
    """

    train: SequenceSamples
    valid: SequenceSamples
    test: SequenceSamples
    num_items: int
    max_len: int
    padding: Padding
    skipped_users: int
    dataset_name: str
    user_ids: tuple[str, ...] | None = None

    def describe(self) -> str:
        return (f"leave-one-out on {self.dataset_name}: {len(self.train):,} train prefix samples, "
                f"{len(self.valid):,} valid / {len(self.test):,} test users, last {self.max_len} items, "
                f"{self.padding} padding" + (f", {self.skipped_users} users < 3 items skipped"
                                             if self.skipped_users else ""))


def window_samples(dataset: SequenceDataset, user: Tensor, target_pos: Tensor, *, max_len: int,
                   padding: Padding) -> SequenceSamples:
    """Samples "predict item ``target_pos`` of ``user`` from the ``max_len`` items before it".

    The windows are gathered per batch from ``dataset.items`` (:meth:`SequenceSamples.from_flat`).

    Args:
        dataset: The sequences.
        user: ``[N]`` 0-based user rows.
        target_pos: ``[N]`` 0-based positions of the targets inside each user's sequence (``>= 1``).
        max_len: Window width ``L``.
        padding: ``"right"`` or ``"left"``.
    """
    _check_padding(padding)
    if max_len < 1:
        raise ConfigError(f"max_len must be >= 1, got {max_len}")
    end = dataset.offsets[user] + target_pos  # exclusive end of the input in the flat tensor
    return SequenceSamples.from_flat(dataset.items, end, target_pos.clamp(max=max_len), user, max_len=max_len,
                                     padding=padding, num_items=dataset.num_items)


def leave_one_out(dataset: SequenceDataset, *, max_len: int = 50, padding: Padding = "right") -> SequenceSplit:
    """Leave-one-out split with prefix-expanded training samples (see the module docstring).

    Args:
        dataset: The sequences.
        max_len: Keep the last ``max_len`` items of every input (MCLRec 50, SRA-CL 20).
        padding: ``"right"`` (items left-aligned, RecBole) or ``"left"`` (most recent item last, SRA-CL).

    Raises:
        DataError: No user has the 3 items a split needs.
    """
    lengths = dataset.lengths
    eligible = lengths >= 3
    skipped = int((~eligible).sum())
    if skipped:
        logger.warning("%s: skipped %d of %d users with fewer than 3 items (no valid/test split possible)",
                       dataset.name, skipped, dataset.num_users)
    users = torch.nonzero(eligible).flatten()
    if users.numel() == 0:
        raise DataError(f"{dataset.source or dataset.name}: no user has the 3 items a leave-one-out split needs")
    n = lengths[users]
    # Training targets: positions 1 .. n-3 (0-based) of every user, via repeat_interleave instead of a loop.
    per_user = n - 3
    train_users = users.repeat_interleave(per_user)
    first = torch.cumsum(per_user, 0) - per_user
    train_pos = torch.arange(int(per_user.sum())) - first.repeat_interleave(per_user) + 1
    return SequenceSplit(
        train=window_samples(dataset, train_users, train_pos, max_len=max_len, padding=padding),
        valid=window_samples(dataset, users, n - 2, max_len=max_len, padding=padding),
        test=window_samples(dataset, users, n - 1, max_len=max_len, padding=padding),
        num_items=dataset.num_items, max_len=max_len, padding=padding, skipped_users=skipped,
        dataset_name=dataset.name, user_ids=tuple(dataset.user_ids),
    )


def _check_padding(padding: str) -> None:
    if padding not in PADDINGS:
        raise ConfigError(f"padding must be one of {PADDINGS}, got {padding!r}")
