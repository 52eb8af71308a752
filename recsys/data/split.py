"""Leave-one-out split with prefix expansion into fixed-width ``[N, L]`` windows.

For a user with sequence ``s_1 … s_n`` (``n >= 3``):

* **test**: target ``s_n``, input ``s_1 … s_{n-1}``;
* **valid**: target ``s_{n-1}``, input ``s_1 … s_{n-2}``;
* **train**: one sample per target position ``t = 2 … n-2`` with input ``s_1 … s_{t-1}``,
  i.e. ``n - 3`` samples per user (131,413 on Beauty, 189,543 on Sports).

Every input keeps its last ``max_len`` items. ``padding="right"`` (RecBole / MCLRec) places the items at
positions ``0 … len-1`` and zeros after them; ``padding="left"`` (SRA-CL) places the most recent item at
position ``L - 1``. All windows are built with one gather over the flat item tensor (no per-user loop).
Users with fewer than 3 items cannot be split: they are skipped and the count is logged.
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

    Attributes:
        item_seq, item_seq_len, target, user: As in :class:`SequenceBatch`, for all ``N`` samples.
        padding: ``"right"`` or ``"left"``.
        num_items: Items of the dataset (ids ``1..num_items``).
    """

    def __init__(self, item_seq: Tensor, item_seq_len: Tensor, target: Tensor, user: Tensor, *,
                 padding: Padding, num_items: int) -> None:
        self.item_seq, self.item_seq_len, self.target, self.user = item_seq, item_seq_len, target, user
        self.padding = padding
        self.num_items = num_items

    def __len__(self) -> int:
        return self.target.numel()

    @property
    def max_len(self) -> int:
        return self.item_seq.size(1)

    def __getitem__(self, index: int | list[int] | Tensor) -> SequenceBatch:
        index = torch.as_tensor(index, dtype=torch.long)
        return SequenceBatch(self.item_seq[index], self.item_seq_len[index], self.target[index], self.user[index])


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
    start = dataset.offsets[user]
    end = start + target_pos  # exclusive end of the input in the flat tensor
    length = target_pos.clamp(max=max_len)
    cols = torch.arange(max_len)
    if padding == "right":
        valid = cols[None, :] < length[:, None]
        index = end[:, None] - length[:, None] + cols[None, :]
    else:
        valid = cols[None, :] >= (max_len - length)[:, None]
        index = end[:, None] - max_len + cols[None, :]
    seq = torch.where(valid, dataset.items[index.clamp(min=0, max=max(dataset.items.numel() - 1, 0))],
                      torch.zeros((), dtype=torch.long))
    target = dataset.items[end]
    return SequenceSamples(seq, length, target, user, padding=padding, num_items=dataset.num_items)


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
