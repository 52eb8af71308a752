"""Vectorised batching: a ``DataLoader`` whose sampler yields index tensors, gathered in one step per batch.

There is no per-sample ``__getitem__`` + collate: :class:`~recsys.data.split.SequenceSamples` is indexed with
the whole index tensor of a batch, and the order of an epoch is one ``torch.randperm`` tensor (no Python int per
sample: a 9-million-sample epoch would hold 9 million of them, about 40 bytes each). The loader is an ordinary
``torch.utils.data.DataLoader`` carrying its ``torch.Generator``, so :func:`graphcl.train.fit` restores the
shuffling state on resume.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from graphcl.errors import ConfigError
from graphcl.train.distributed import ShardedBatchSampler
from recsys.data.split import SequenceSamples


class PermutationBatchSampler(Sampler[Tensor]):
    """Batches of sample indices as ``[B]`` long tensors, sliced from one permutation per epoch.

    The batches are those of ``BatchSampler(RandomSampler(range(n), generator=generator), batch_size, drop_last)``
    (``SequentialSampler`` without shuffling) — the same ``torch.randperm(n, generator=generator)`` cut into the
    same consecutive pieces — and the generator advances as it did with those list-based samplers (``RandomSampler``
    draws one more permutation when it is read past its end), so runs, and runs resumed from a checkpoint written
    with them, see the same batches as before.

    Args:
        num_samples: ``n``.
        batch_size: Indices per batch.
        shuffle: A new random order every epoch (else ``0 .. n-1``).
        generator: The generator of the permutations (shuffling only).
        drop_last: Drop a last batch smaller than ``batch_size``.
        max_batches: Stop each epoch after this many batches (``None``: all); with shuffling every epoch then sees
            a fresh random subset.
    """

    def __init__(self, num_samples: int, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None,
                 drop_last: bool = False, max_batches: int | None = None) -> None:
        self.num_samples, self.batch_size, self.shuffle = num_samples, batch_size, shuffle
        self.generator, self.drop_last, self.max_batches = generator, drop_last, max_batches

    def _full_length(self) -> int:
        n, size = self.num_samples, self.batch_size
        return n // size if self.drop_last else -(-n // size)

    def __len__(self) -> int:
        full = self._full_length()
        return full if self.max_batches is None else min(full, self.max_batches)

    def __iter__(self) -> Iterator[Tensor]:
        n, size = self.num_samples, self.batch_size
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for k in range(len(self)):
            yield order[k * size:(k + 1) * size]
        del order
        # The list-based samplers asked RandomSampler for one batch more than they yielded (or for the end of the
        # epoch); asking past the end of the permutation made it draw the next one.
        if self.shuffle and (self.max_batches is None or (self.max_batches + 1) * size > n):
            torch.randperm(n, generator=self.generator)


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
    if max_batches is not None and (not isinstance(max_batches, int) or max_batches < 1):
        raise ConfigError(f"max_batches must be a positive int or None, got {max_batches!r}")
    sampler: Sampler = PermutationBatchSampler(len(samples), batch_size, shuffle=shuffle, generator=generator,
                                               drop_last=drop_last, max_batches=max_batches)
    if shard:
        sampler = ShardedBatchSampler(sampler)
    return DataLoader(samples, sampler=sampler, batch_size=None, generator=generator)
