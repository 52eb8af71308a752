"""Multi-process training on ``torch.distributed`` (launched by ``torchrun``; gloo on CPU, NCCL on GPU).

The library does not bring its own launcher: ``torchrun --nproc-per-node N -m recsys.cli train ...`` starts N
processes, :func:`init_from_env` joins them into one process group, each rank trains on its shard of every global
batch (:class:`ShardedBatchSampler`), ``DistributedDataParallel`` averages the gradients, and contrastive losses
see the negatives of every rank through :func:`gather_with_grad` (their ``gather_distributed`` option, as in
lightly). Rank 0 alone writes files and prints.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import Sampler

from graphcl.errors import ConfigError

__all__ = ["ShardedBatchSampler", "barrier", "gather_with_grad", "init_from_env", "is_distributed", "rank",
           "sum_over_ranks", "world_size"]


def is_distributed() -> bool:
    """Whether this process is one rank of an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 outside a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def barrier() -> None:
    """Wait for every rank (nothing outside a process group)."""
    if is_distributed():
        dist.barrier()


def init_from_env(device: torch.device) -> bool:
    """Join the process group described by ``torchrun``'s environment (``WORLD_SIZE`` > 1, ``RANK``,
    ``MASTER_ADDR`` / ``MASTER_PORT``); gloo for CPU training, NCCL for CUDA. Returns whether the run is distributed.

    Raises:
        ConfigError: ``WORLD_SIZE`` > 1 without the rest of ``torchrun``'s environment.
    """
    if is_distributed():
        return True
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return False
    missing = [key for key in ("RANK", "MASTER_ADDR", "MASTER_PORT") if key not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={size} but {', '.join(missing)} not set; launch with torchrun")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return True


class _GatherWithGrad(torch.autograd.Function):
    """``all_gather`` whose backward sums every rank's gradient of the gathered tensor and keeps this rank's
    slice, so a loss over the gathered candidates trains the encoders of every rank."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = x.size(0)
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start = dist.get_rank() * ctx.rows
        return grad[start:start + ctx.rows]


def gather_with_grad(x: Tensor) -> Tensor:
    """``[W * n, ...]``: the ``[n, ...]`` tensors of all ``W`` ranks, in rank order, differentiable.

    Outside a process group it is ``x`` itself. Every rank must pass the same shape.

    Raises:
        ValueError: The ranks' shapes differ.
    """
    if not is_distributed() or world_size() == 1:
        return x
    shape = torch.tensor(list(x.shape), dtype=torch.long)
    shapes = [torch.empty_like(shape) for _ in range(world_size())]
    dist.all_gather(shapes, shape)
    if any(not torch.equal(s, shape) for s in shapes):
        raise ValueError(f"gather_with_grad needs the same shape on every rank, got {[s.tolist() for s in shapes]}")
    return _GatherWithGrad.apply(x)


def sum_over_ranks(x: Tensor) -> Tensor:
    """``Σ_r x^{(r)}``: the sum of the ``x`` of all ranks (``x`` itself outside a process group), differentiable:
    the gradient of every rank's loss w.r.t. the sum reaches each rank's ``x`` (through :func:`gather_with_grad`),
    e.g. for meta-nodes summed over the nodes of every rank. Every rank must pass the same shape (at least 1-D).

    Raises:
        ValueError: The ranks' shapes differ.
    """
    return gather_with_grad(x).view(world_size(), *x.shape).sum(0)


class ShardedBatchSampler(Sampler[list[int]]):
    """Each rank's share of every global batch: rank ``r`` of ``W`` takes positions ``r, r + W, ...`` of it.

    Every rank iterates the same global batches (the wrapped sampler must be seeded identically on all ranks), so
    ``W`` processes with shards of a batch of ``B`` see exactly the samples one process sees with ``B``; with
    ``B`` divisible by ``W`` the averaged gradient is the one-process gradient.

    Args:
        batches: The global batch sampler.
        rank: This process's rank. (default: :func:`rank`)
        world: Number of processes. (default: :func:`world_size`)
    """

    def __init__(self, batches: Sampler[Sequence[int]], rank: int | None = None, world: int | None = None) -> None:
        self.batches = batches
        self.rank = globals()["rank"]() if rank is None else rank
        self.world = world_size() if world is None else world

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            batch = list(batch)
            if len(batch) >= self.world:  # a last batch smaller than W is dropped on every rank alike
                yield batch[self.rank::self.world]

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]
