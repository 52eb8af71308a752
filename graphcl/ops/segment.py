"""Segment / cluster reductions: sums and means of rows grouped by an index.

Thin, validated wrappers over :func:`torch_geometric.utils.scatter` (pure torch, no ``torch_scatter``), used for
community statistics (CSGCL), meta-node embeddings (PamC), prototypes (MEOW) and session pooling (recsys).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter


def _check(src: Tensor, index: Tensor, num_segments: int | None) -> int:
    """Validate ``index`` against ``src`` and return the number of segments (one message per mistake)."""
    if not isinstance(index, Tensor) or index.dim() != 1:
        shape = tuple(index.shape) if isinstance(index, Tensor) else type(index).__name__
        raise ValueError(f"index must be a 1-D tensor, got {shape}")
    if index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
        raise ValueError(f"index must hold integer segment ids, got dtype {index.dtype}")
    if num_segments is not None and (isinstance(num_segments, bool) or not isinstance(num_segments, int)):
        raise ValueError(f"num_segments must be an int, got {num_segments!r}")
    if src.size(0) != index.numel():
        raise ValueError(f"src has {src.size(0)} rows but index has {index.numel()} entries")
    if index.numel() and int(index.min()) < 0:
        raise ValueError("index must be non-negative")
    needed = int(index.max()) + 1 if index.numel() else 0
    if num_segments is None:
        return needed
    if num_segments < needed:
        raise ValueError(f"num_segments={num_segments} but index contains {needed - 1}")
    return num_segments


def segment_sum(src: Tensor, index: Tensor, num_segments: int | None = None) -> Tensor:
    """``out[c] = Σ_{i: index_i = c} src_i`` — shape ``[num_segments, *src.shape[1:]]``; empty segments are 0."""
    size = _check(src, index, num_segments)
    return scatter(src, index.to(src.device), dim=0, dim_size=size, reduce="sum")


def segment_count(index: Tensor, num_segments: int | None = None) -> Tensor:
    """Number of members of every segment, ``[num_segments]`` (long)."""
    size = _check(index, index, num_segments)
    return torch.bincount(index, minlength=size)


def segment_mean(src: Tensor, index: Tensor, num_segments: int | None = None) -> Tensor:
    """``out[c] = mean_{i: index_i = c} src_i``; empty segments are 0 (never NaN)."""
    size = _check(src, index, num_segments)
    total = scatter(src, index.to(src.device), dim=0, dim_size=size, reduce="sum")
    count = torch.bincount(index, minlength=size).to(src.device).clamp_(min=1)
    return total / count.view(-1, *([1] * (src.dim() - 1))).to(src.dtype)


def one_hot_assignment(index: Tensor, num_segments: int | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """Sparse ``[N, num_segments]`` 0/1 assignment matrix (COO) of a hard clustering."""
    size = _check(index, index, num_segments)
    n = index.numel()
    indices = torch.stack([torch.arange(n, device=index.device), index])
    values = torch.ones(n, dtype=dtype, device=index.device)
    return torch.sparse_coo_tensor(indices, values, (n, size), check_invariants=False).coalesce()
