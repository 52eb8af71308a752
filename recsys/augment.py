"""Sequence augmentations on padded ``[B, L]`` batches, vectorised over the batch (no per-sample loops).

Operators of CL4SRec (`Xie et al., ICDE 2022 <https://arxiv.org/abs/2010.14395>`_) and CoSeRec
(`Liu et al., 2021 <https://arxiv.org/abs/2108.06479>`_), with the rates of MCLRec's code. For a sequence of
length ``n``:

* :class:`Crop` — keep ``k = ⌊η n⌋`` (at least 1) contiguous items from a uniform offset in ``[0, n − k]``;
  new length ``k`` (η = ``keep_ratio`` 0.5).
* :class:`Mask` — set ``⌊γ n⌋`` distinct positions to ``mask_id`` (MCLRec: the padding id 0, so masked
  positions also become non-attendable keys; there is no [MASK] token); length unchanged (γ 0.5).
* :class:`Reorder` — shuffle a contiguous window of ``⌊β n⌋`` items at a uniform start (β 0.8).
* :class:`Substitute` — replace ``⌊ρ n⌋`` items by a correlated item (a random column of a neighbour table
  ``[num_items + 1, k]`` of ids in ``1..num_items``, or a uniformly random item of ``1..num_items`` without one).
* :class:`Insert` — insert ``⌊ρ n⌋`` correlated items, each before a random position; when the result exceeds
  ``L`` the oldest items are dropped.

:class:`TwoViews` draws, for every sequence independently, **two distinct operators** uniformly without
replacement (view 1 uses the first, view 2 the second) and leaves sequences of length ≤ 1 unchanged — the
``mclrec_aug`` rule of the reference dataloader. Each operator runs once on the whole batch and the rows are
selected afterwards, so the cost is a handful of tensor operations per batch.

All operators take and return ``(item_seq, item_seq_len)`` in either padding convention (``padding`` of the
split); internally they work on left-aligned rows. Randomness comes from torch's global RNG unless a
``generator`` is given. Each operator is also a :class:`~torch_geometric.transforms.BaseTransform` over a
:class:`~recsys.data.SequenceBatch`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.transforms import BaseTransform

from graphcl.errors import ConfigError
from recsys.data.split import SequenceBatch

Views = tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]


def realign(item_seq: Tensor, lengths: Tensor, source: str, target: str) -> Tensor:
    """Move the items of every row from ``source`` to ``target`` padding (``"right"`` / ``"left"``)."""
    if source == target:
        return item_seq
    width = item_seq.size(1)
    cols = torch.arange(width, device=item_seq.device)
    shift = (width - lengths)[:, None]
    if source == "left":  # items at L-n..L-1 -> 0..n-1
        index, valid = cols + shift, cols[None, :] < lengths[:, None]
    else:  # items at 0..n-1 -> L-n..L-1
        index, valid = cols - shift, cols[None, :] >= shift
    return torch.where(valid, item_seq.gather(1, index.clamp(0, width - 1)), 0)


def _uniform(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, device=like.device, generator=generator)


class SequenceAugmentation(BaseTransform):
    """Base class: ``apply(item_seq, lengths) -> (item_seq, lengths)`` on left-aligned rows.

    Args:
        padding: Padding side of the inputs (``"right"``: left-aligned, RecBole; ``"left"``: SRA-CL).
        generator: Optional ``torch.Generator``; default torch's global RNG.
    """

    def __init__(self, padding: str = "right", generator: torch.Generator | None = None) -> None:
        if padding not in ("right", "left"):
            raise ConfigError(f"padding must be 'right' or 'left', got {padding!r}")
        self.padding = padding
        self.generator = generator

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def __call__(self, item_seq: Tensor | SequenceBatch, lengths: Tensor | None = None):  # type: ignore[override]
        if isinstance(item_seq, SequenceBatch):
            return self.forward(item_seq)
        if lengths is None:
            raise TypeError("pass (item_seq, item_seq_len) or a SequenceBatch")
        aligned = realign(item_seq, lengths, self.padding, "right")
        seq, new_lengths = self.apply(aligned, lengths)
        return realign(seq, new_lengths, "right", self.padding), new_lengths

    def forward(self, batch: SequenceBatch) -> SequenceBatch:
        seq, lengths = self(batch.item_seq, batch.item_seq_len)
        return batch._replace(item_seq=seq, item_seq_len=lengths)

    def _count(self, lengths: Tensor, ratio: float) -> Tensor:
        return torch.floor(lengths.double() * ratio).long()

    def _random_positions(self, item_seq: Tensor, lengths: Tensor, count: Tensor) -> Tensor:
        """Boolean ``[B, L]``: ``count[b]`` distinct positions among the first ``lengths[b]``, uniformly."""
        keys = _uniform(item_seq.shape, item_seq, self.generator)
        cols = torch.arange(item_seq.size(1), device=item_seq.device)
        keys = keys.masked_fill(cols[None, :] >= lengths[:, None], 2.0)
        ranks = keys.argsort(1).argsort(1)
        return ranks < count[:, None]


def _check_ratio(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must lie in [0, 1], got {value!r}")


class Crop(SequenceAugmentation):
    """Keep ``⌊keep_ratio · n⌋`` (≥ 1) contiguous items from a uniform random offset."""

    def __init__(self, keep_ratio: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_ratio("keep_ratio", keep_ratio)
        self.keep_ratio = keep_ratio

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        keep = self._count(lengths, self.keep_ratio).clamp(min=1).minimum(lengths)
        start = (_uniform(lengths.shape, item_seq, self.generator) * (lengths - keep + 1)).long()
        start = start.minimum(lengths - keep)
        cols = torch.arange(item_seq.size(1), device=item_seq.device)
        index = (start[:, None] + cols[None, :]).clamp(max=item_seq.size(1) - 1)
        seq = torch.where(cols[None, :] < keep[:, None], item_seq.gather(1, index), 0)
        return seq, keep

    def __repr__(self) -> str:
        return f"Crop(keep_ratio={self.keep_ratio})"


class Mask(SequenceAugmentation):
    """Replace ``⌊ratio · n⌋`` distinct positions by ``mask_id`` (MCLRec: 0, the padding id)."""

    def __init__(self, ratio: float = 0.5, mask_id: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_ratio("ratio", ratio)
        self.ratio, self.mask_id = ratio, mask_id

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        chosen = self._random_positions(item_seq, lengths, self._count(lengths, self.ratio))
        return item_seq.masked_fill(chosen, self.mask_id), lengths

    def __repr__(self) -> str:
        return f"Mask(ratio={self.ratio}, mask_id={self.mask_id})"


class Reorder(SequenceAugmentation):
    """Shuffle a contiguous window of ``⌊ratio · n⌋`` items starting at a uniform random offset."""

    def __init__(self, ratio: float = 0.8, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_ratio("ratio", ratio)
        self.ratio = ratio

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        width = self._count(lengths, self.ratio)
        start = (_uniform(lengths.shape, item_seq, self.generator) * (lengths - width + 1)).long()
        start = start.minimum(lengths - width)
        cols = torch.arange(item_seq.size(1), device=item_seq.device, dtype=torch.float64)
        inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < (start + width)[:, None])
        # Sort keys: outside the window a position keeps its own index; inside it gets a uniform key in
        # [start, start + width), so sorting shuffles the window uniformly and leaves the rest in place.
        random_keys = start[:, None] + _uniform(item_seq.shape, item_seq, self.generator).double() * width[:, None]
        keys = torch.where(inside, random_keys, cols[None, :].expand_as(random_keys))
        return item_seq.gather(1, keys.argsort(dim=1, stable=True)), lengths

    def __repr__(self) -> str:
        return f"Reorder(ratio={self.ratio})"


class _Correlated(SequenceAugmentation):
    """Shared by :class:`Substitute` and :class:`Insert`: where correlated items come from.

    ``num_items`` may be omitted when ``neighbours`` is given (it is then ``neighbours.size(0) - 1``); without a
    table it is required, since the uniform draw covers ``1..num_items``. Table rows ``1..num_items`` must hold
    real item ids (``-1`` "no neighbour" slots, as in a semantic index, are rejected: they would be inserted as
    item ``-1``); row 0 (padding) is never read.
    """

    def __init__(self, ratio: float, num_items: int | None, neighbours: Tensor | None, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_ratio("ratio", ratio)
        name = type(self).__name__
        if neighbours is None:
            if num_items is None:
                raise ConfigError(f"{name} needs num_items (random items are drawn from 1..num_items) or a "
                                  f"neighbour table")
        else:
            if neighbours.dim() != 2 or neighbours.size(1) < 1 or (
                    num_items is not None and neighbours.size(0) != num_items + 1):
                expected = "num_items + 1" if num_items is None else str(num_items + 1)
                raise ConfigError(f"{name}: neighbours must be [{expected}, k] with k >= 1, got "
                                  f"{tuple(neighbours.shape)}")
            if neighbours.dtype != torch.long:
                raise ConfigError(f"{name}: neighbours must be a long tensor of item ids, got {neighbours.dtype}")
            num_items = neighbours.size(0) - 1
            rows = neighbours[1:]
            if rows.numel() and (int(rows.min()) < 1 or int(rows.max()) > num_items):
                raise ConfigError(
                    f"{name}: neighbour ids must lie in 1..{num_items} (rows 1..{num_items}), got "
                    f"{int(rows.min())}..{int(rows.max())}; an index with -1 slots needs SemanticSubstitute"
                )
        if not isinstance(num_items, int) or isinstance(num_items, bool) or num_items < 1:
            raise ConfigError(f"{name}: num_items must be a positive int, got {num_items!r}")
        self.ratio, self.num_items, self.neighbours = ratio, num_items, neighbours

    def correlated(self, items: Tensor) -> Tensor:
        """A correlated item for every entry of ``items`` (a random neighbour, or a random item)."""
        if self.neighbours is None:
            return torch.randint(1, self.num_items + 1, items.shape, device=items.device, generator=self.generator)
        table = self.neighbours.to(items.device)
        column = (_uniform(items.shape, items, self.generator) * table.size(1)).long()
        return table[items, column]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio}, neighbours={'table' if self.neighbours is not None else 'random'})"


class Substitute(_Correlated):
    """Replace ``⌊ratio · n⌋`` random items by correlated items (CoSeRec)."""

    def __init__(self, ratio: float = 0.2, num_items: int | None = None, neighbours: Tensor | None = None,
                 **kwargs) -> None:
        super().__init__(ratio, num_items, neighbours, **kwargs)

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        chosen = self._random_positions(item_seq, lengths, self._count(lengths, self.ratio))
        return torch.where(chosen, self.correlated(item_seq), item_seq), lengths


class Insert(_Correlated):
    """Insert ``⌊ratio · n⌋`` correlated items, each before a random position (CoSeRec); oldest items are
    dropped when the sequence outgrows the window."""

    def __init__(self, ratio: float = 0.2, num_items: int | None = None, neighbours: Tensor | None = None,
                 **kwargs) -> None:
        super().__init__(ratio, num_items, neighbours, **kwargs)

    def apply(self, item_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        b, width = item_seq.shape
        count = self._count(lengths, self.ratio)
        before = self._random_positions(item_seq, lengths, count)  # insert a new item before these
        shift = before.long().cumsum(1)  # items inserted at or before each position
        new_len = lengths + count
        # Real and inserted items land in columns 0..2·width-1 (count <= width, so the newest item of a full
        # row with ratio 1 lands in column 2·width-1); column 2·width is the dump for padding slots, zeroed after.
        dump = 2 * width
        out = torch.zeros(b, 2 * width + 1, dtype=item_seq.dtype, device=item_seq.device)
        cols = torch.arange(width, device=item_seq.device).expand(b, width)
        real = cols < lengths[:, None]
        out.scatter_(1, torch.where(real, cols + shift, dump), torch.where(real, item_seq, 0))
        inserted = torch.where(before, cols + shift - 1, dump)
        out.scatter_(1, inserted, torch.where(before, self.correlated(item_seq), 0))
        out[:, dump] = 0
        # Keep the most recent `width` items, left-aligned.
        drop = (new_len - width).clamp(min=0)
        index = (drop[:, None] + torch.arange(width, device=item_seq.device)[None, :]).clamp(max=dump)
        kept = new_len.clamp(max=width)
        seq = torch.where(torch.arange(width, device=item_seq.device)[None, :] < kept[:, None],
                          out.gather(1, index), 0)
        return seq, kept


class TwoViews:
    """Two augmented views per sequence with two distinct operators drawn uniformly per sequence.

    Args:
        operators: At least two :class:`SequenceAugmentation` (MCLRec: Crop, Mask, Reorder).
        generator: Optional generator for the operator draw (the operators use their own).

    Call with ``(item_seq, item_seq_len)``; returns ``((seq1, len1), (seq2, len2))``.
    """

    def __init__(self, operators: Sequence[SequenceAugmentation], generator: torch.Generator | None = None) -> None:
        self.operators = list(operators)
        if len(self.operators) < 2:
            raise ConfigError("TwoViews needs at least two distinct operators")
        self.generator = generator

    def __call__(self, item_seq: Tensor, lengths: Tensor) -> Views:
        outputs = [op(item_seq, lengths) for op in self.operators]
        seqs = torch.stack([o[0] for o in outputs])  # [n_ops, B, L]
        lens = torch.stack([o[1] for o in outputs])  # [n_ops, B]
        b = item_seq.size(0)
        choice = _uniform((b, len(self.operators)), item_seq, self.generator).argsort(1)[:, :2]
        rows = torch.arange(b, device=item_seq.device)
        short = lengths <= 1
        views = []
        for v in range(2):
            seq = torch.where(short[:, None], item_seq, seqs[choice[:, v], rows])
            length = torch.where(short, lengths, lens[choice[:, v], rows])
            views.append((seq, length))
        return views[0], views[1]

    def __repr__(self) -> str:
        return f"TwoViews({', '.join(map(repr, self.operators))})"


def make_operators(names: Sequence[str], *, padding: str = "right", crop_keep: float = 0.5, mask_ratio: float = 0.5,
                   reorder_ratio: float = 0.8, substitute_ratio: float = 0.2, insert_ratio: float = 0.2,
                   num_items: int | None = None, neighbours: Tensor | None = None) -> list[SequenceAugmentation]:
    """Operators by name (``crop``, ``mask``, ``reorder``, ``substitute``, ``insert``).

    ``substitute`` and ``insert`` need ``num_items`` or a ``neighbours`` table (see :class:`Substitute`).
    """
    factories = {
        "crop": lambda: Crop(crop_keep, padding=padding),
        "mask": lambda: Mask(mask_ratio, padding=padding),
        "reorder": lambda: Reorder(reorder_ratio, padding=padding),
        "substitute": lambda: Substitute(substitute_ratio, num_items, neighbours, padding=padding),
        "insert": lambda: Insert(insert_ratio, num_items, neighbours, padding=padding),
    }
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise ConfigError(f"unknown augmentation(s) {unknown}; choose from {', '.join(factories)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"augmentations must be distinct, got {list(names)}")
    return [factories[n]() for n in names]
