"""Vectorised batching: a ``DataLoader`` whose sampler yields index lists, gathered in one step per batch.

There is no per-sample ``__getitem__`` + collate: :class:`~recsys.data.split.SequenceSamples` is indexed with
the whole list of a batch's indices. The loader is an ordinary ``torch.utils.data.DataLoader`` carrying its
``torch.Generator``, so :func:`graphcl.train.fit` restores the shuffling state on resume.
"""
from __future__ import annotations

import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from graphcl.errors import ConfigError
from graphcl.train.distributed import ShardedBatchSampler
from recsys.data.split import SequenceSamples


class CappedBatchSampler(BatchSampler):
    """A :class:`~torch.utils.data.BatchSampler` that stops after ``max_batches`` batches (reduced budgets:
    with shuffling, every epoch sees a fresh random subset of the samples)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool, max_batches: int) -> None:
        super().__init__(sampler, batch_size, drop_last)
        self.max_batches = max_batches

    def __iter__(self):
        for count, batch in enumerate(super().__iter__()):
            if count >= self.max_batches:
                return
            yield batch

    def __len__(self) -> int:
        return min(super().__len__(), self.max_batches)


def batch_loader(samples: SequenceSamples, batch_size: int = 256, *, shuffle: bool = True,
                 seed: int | None = None, drop_last: bool = False, max_batches: int | None = None,
                 shard: bool = False) -> DataLoader:
    """Batches of :class:`~recsys.data.split.SequenceBatch` over ``samples``.

    Args:
        samples: The samples.
        batch_size: Samples per batch (RecBole default 256).
        shuffle: Reshuffle every epoch (training) or keep the order (evaluation).
        seed: Seed of the loader's own generator; ``None`` draws it from torch's global RNG, so that
            :func:`graphcl.utils.seed_everything` makes the order reproducible.
        drop_last: Drop the last, smaller batch.
        max_batches: Stop each epoch after this many batches (``None``: all).
        shard: In a ``torch.distributed`` run, yield this rank's share of every batch
            (:class:`~graphcl.train.distributed.ShardedBatchSampler`; every rank must draw the same order, which
            the seeded global RNG gives); ``batch_size`` stays the global batch.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(samples) == 0:
        raise ConfigError("cannot batch an empty set of samples")
    generator = torch.Generator()
    generator.manual_seed(int(torch.randint(0, 2**62, ())) if seed is None else seed)
    base = RandomSampler(samples, generator=generator) if shuffle else SequentialSampler(samples)
    if max_batches is not None and (not isinstance(max_batches, int) or max_batches < 1):
        raise ConfigError(f"max_batches must be a positive int or None, got {max_batches!r}")
    sampler = (BatchSampler(base, batch_size, drop_last) if max_batches is None
               else CappedBatchSampler(base, batch_size, drop_last, max_batches))
    if shard:
        sampler = ShardedBatchSampler(sampler)
    return DataLoader(samples, sampler=sampler, batch_size=None, generator=generator)
