"""k-nearest-neighbour graphs of feature vectors — the graphs SDCN (`Bo et al., 2020
<https://arxiv.org/abs/2002.01633>`_) builds for feature-only data (USPS, HHAR, Reuters) and SCGC / PamC reuse.

Node ``i`` is linked to the ``k`` other nodes most similar to it under

* ``"heat"``: the heat kernel :math:`S_{ij} = e^{-\\lVert x_i - x_j \\rVert^2 / t}` (SDCN: ``t = 2``); its
  ranking is that of the Euclidean distance, computed as a dot product of augmented vectors
  :math:`[x_i, 1] \\cdot [2x_j, -\\lVert x_j \\rVert^2]`, so the chunked top-k of
  :func:`graphcl.ops.topk_similarity` needs no distance matrix;
* ``"cosine"``: cosine similarity; ``"ncos"``: SDCN's Reuters recipe — features binarised (``x > 0``), rows
  L1-normalised, then dot products;
* ``"dot"``: raw dot products.

Memory is ``O(chunk_size · N)``; no Python loop over nodes.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from graphcl.errors import ConfigError, DataError
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE, topk_similarity

METRICS = ("heat", "cosine", "ncos", "dot")


def knn_graph(
    x: Tensor,
    k: int,
    *,
    metric: str = "heat",
    t: float = 2.0,
    symmetrize: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[Tensor, Tensor]:
    """SDCN's kNN graph (Bo et al., 2020): directed ``i → j`` (``j`` among the ``k`` nearest of ``i``, ``j ≠ i``)
    and its similarities.

    Args:
        x: Features ``[N, F]``.
        k: Neighbours per node, ``1 <= k < N``.
        metric: ``"heat"``, ``"cosine"``, ``"ncos"`` or ``"dot"`` (see the module docstring).
        t: Heat-kernel bandwidth (``"heat"`` only).
        symmetrize: Return ``max(A, Aᵀ)`` (an undirected graph) instead of the directed kNN lists.
        chunk_size: Query rows per chunk.

    Returns:
        ``(edge_index [2, E], edge_weight [E])`` with the kernel similarity as weight.

    Raises:
        ConfigError: Unknown ``metric``, ``k`` outside ``[1, N - 1]`` or a non-positive ``t``.
        DataError: ``x`` is not a finite ``[N, F]`` tensor.
    """
    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {METRICS}, got {metric!r}")
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise DataError(f"x must be a [N, F] tensor, got {shape}")
    if metric == "heat" and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf")):
        raise ConfigError(f"t (the heat-kernel bandwidth) must be a positive finite number, got {t!r}")
    n = x.size(0)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < n:
        raise ConfigError(f"k must be an int in [1, {n - 1}] (N - 1 other nodes), got {k!r}")
    if not bool(torch.isfinite(x).all()):
        raise DataError("x contains NaN or inf")
    x = x.float() if not x.is_floating_point() else x
    self_index = torch.arange(n, device=x.device)
    if metric == "heat":
        sq = (x * x).sum(1, keepdim=True)
        query = torch.cat([x, torch.ones_like(sq)], 1)
        key = torch.cat([2.0 * x, -sq], 1)
        score, nbr = topk_similarity(query, key, k, metric="dot", exclude=self_index, chunk_size=chunk_size)
        dist_sq = (sq - score).clamp_(min=0)  # ||x_i||² - (2 x_i·x_j - ||x_j||²)
        weight = torch.exp(-dist_sq / t)
    elif metric == "ncos":
        b = (x > 0).to(x.dtype)
        b = b / b.sum(1, keepdim=True).clamp(min=1)
        weight, nbr = topk_similarity(b, b, k, metric="dot", exclude=self_index, chunk_size=chunk_size)
    else:
        weight, nbr = topk_similarity(x, x, k, metric=metric, exclude=self_index, chunk_size=chunk_size)
    src = self_index.repeat_interleave(k)
    edge_index = torch.stack([src, nbr.reshape(-1)])
    edge_weight = weight.reshape(-1)
    if symmetrize:
        edge_index, edge_weight = to_undirected(edge_index, edge_weight, num_nodes=n, reduce="max")
    return edge_index, edge_weight
