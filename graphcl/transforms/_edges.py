"""Keeping a subset of a graph's edges together with every edge-level attribute."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data.storage import EdgeStorage


def select_edges(store: EdgeStorage, edge_mask: Tensor) -> None:
    """Keeps the edges of ``store`` where ``edge_mask`` is ``True`` and realigns its edge attributes.

    Every attribute that PyG classifies as edge-level (:meth:`~torch_geometric.data.Data.is_edge_attr`:
    ``edge_attr``, ``edge_weight``, ``edge_type``, ... — any tensor with ``E`` entries along its
    concatenation dimension) is indexed with the same mask. New tensors are assigned; nothing is written
    into the existing ones, so the caller's shallow-copied ``Data`` keeps its originals intact. When the
    number of nodes equals the number of edges, PyG can only tell edge attributes apart by an ``"edge"`` in
    their name.

    Args:
        store: An edge store (a :class:`~torch_geometric.data.Data`'s, or one edge type of a
            :class:`~torch_geometric.data.HeteroData`) holding ``edge_index``; modified in place.
        edge_mask: ``[E]`` bool tensor, ``True`` for edges to keep.
    """
    edge_index = store.edge_index
    # Classify before ``edge_index`` changes: PyG compares attribute sizes against the current edge count.
    edge_keys = [key for key in store.keys() if key != "edge_index" and store.is_edge_attr(key)]
    kept = edge_mask.nonzero().view(-1)
    for key in edge_keys:
        value = store[key]
        cat_dim = store._parent().__cat_dim__(key, value, store)
        if isinstance(value, Tensor):
            store[key] = value.index_select(cat_dim, kept.to(value.device))
        elif isinstance(value, np.ndarray):
            store[key] = np.take(value, kept.cpu().numpy(), axis=cat_dim)
        elif isinstance(value, (list, tuple)):
            store[key] = type(value)(value[i] for i in kept.tolist())
    store.edge_index = edge_index[:, edge_mask]
    if "num_edges" in store:
        store.num_edges = int(kept.numel())


def full_probability(p: float, edge_index: Tensor) -> Tensor:
    """A ``[E]`` tensor filled with ``p`` on ``edge_index``'s device (uniform input to the weighted kernels)."""
    return torch.full((edge_index.size(1),), p, device=edge_index.device)
