"""Mini-batches of a large graph: random root nodes with their (sampled) k-hop neighbourhoods — the batching of
`"Inductive Representation Learning on Large Graphs" <https://arxiv.org/abs/1706.02216>`_ (GraphSAGE, Hamilton et
al., 2017) as PyG's ``NeighborLoader`` implements it.

A batch is the subgraph induced by ``B`` roots and the neighbours reached from them in ``len(num_neighbors)`` hops,
hop ``h`` keeping at most ``num_neighbors[h]`` random in-neighbours of every frontier node (``-1``: all of them).
The roots are the first ``B`` nodes of the batch (``batch.batch_size = B``), ``batch.n_id`` holds the global id of
every node, and every node- or edge-level attribute of the graph (``x``, ``y``, ``community``, ...) is sliced along.
A model computes its loss over the roots only; the other nodes are their receptive field.

Two backends give that batch:

* ``"pyg"`` — PyG's :class:`~torch_geometric.loader.NeighborLoader` (``subgraph_type="induced"``), when its
  sampling kernels (``pyg-lib`` or ``torch-sparse``) are importable;
* ``"k_hop"`` — pure PyTorch on a CSR index of the graph, built once: with ``num_neighbors`` all ``-1`` the batch
  is exactly :func:`torch_geometric.utils.k_hop_subgraph` of the roots (tested), with fan-outs the hop expansion
  draws the neighbours (vectorised, without replacement). The cost of a batch is the sum of the degrees of its
  nodes, never ``O(E)``.

:func:`neighbor_loader` wraps either in an ordinary ``DataLoader`` over the roots with its own ``torch.Generator``,
so that :func:`graphcl.train.fit` restores the shuffling state on resume, and in a ``torch.distributed`` run each
rank takes its share of every global batch of roots (:class:`~graphcl.train.distributed.ShardedBatchSampler`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler
from torch_geometric.data import Data

from graphcl.errors import ConfigError, DataError

BACKENDS = ("auto", "pyg", "k_hop")

__all__ = ["BACKENDS", "KHopSampler", "NeighborBatches", "minibatch_roots", "neighbor_backend", "neighbor_loader"]


def minibatch_roots(data: Data) -> int | None:
    """Number of roots of a mini-batch (its first ``batch_size`` nodes), ``None`` for a whole graph."""
    roots = getattr(data, "batch_size", None)
    return None if roots is None else int(roots)


def neighbor_backend(requested: str = "auto") -> str:
    """The sampling backend that runs: ``"pyg"`` when ``pyg-lib`` or ``torch-sparse`` can be imported (PyG's
    ``NeighborLoader`` needs one of them), else ``"k_hop"``; ``requested`` other than ``"auto"`` is checked.

    Raises:
        ConfigError: An unknown backend, or ``"pyg"`` without its kernels.
    """
    if requested not in BACKENDS:
        raise ConfigError(f"sampler must be one of {', '.join(BACKENDS)}, got {requested!r}")
    from torch_geometric.typing import WITH_PYG_LIB, WITH_TORCH_SPARSE

    available = bool(WITH_PYG_LIB or WITH_TORCH_SPARSE)
    if requested == "pyg" and not available:
        raise ConfigError("sampler='pyg' needs pyg-lib or torch-sparse (PyG's NeighborLoader kernels); neither is "
                          "installed: use sampler='k_hop' (or 'auto')")
    if requested == "auto":
        return "pyg" if available else "k_hop"
    return requested


def check_num_neighbors(num_neighbors: Any) -> list[int]:
    """``num_neighbors`` as a list of ints, each ``-1`` (all neighbours) or ``>= 0``; at least one hop.

    Raises:
        ConfigError: Another value.
    """
    if isinstance(num_neighbors, int) and not isinstance(num_neighbors, bool):
        num_neighbors = [num_neighbors]
    if (not isinstance(num_neighbors, (list, tuple)) or not num_neighbors
            or any(isinstance(k, bool) or not isinstance(k, int) or k < -1 for k in num_neighbors)):
        raise ConfigError(f"num_neighbors must be a non-empty list of ints (-1 = all neighbours, one entry per hop), "
                          f"got {num_neighbors!r}")
    return list(num_neighbors)


class KHopSampler:
    """Roots with their k-hop in-neighbourhoods, fan-out sampled per hop, as induced subgraphs (pure PyTorch).

    The edges are indexed once by target (CSR, ``O(E)``); a batch then costs ``O(Σ deg)`` over its nodes. Random
    draws come from torch's global generator (seeded and checkpointed by the training loop).

    Args:
        data: The graph (``edge_index`` in PyG's ``source -> target`` convention; both directions for an
            undirected graph).
        num_neighbors: Neighbours kept per node and hop; ``-1`` keeps all (default ``[-1, -1]``: the exact
            2-hop subgraph, :func:`torch_geometric.utils.k_hop_subgraph`).

    Example:
        >>> batch = KHopSampler(data, [10, 10])(torch.tensor([0, 5, 7]))  # doctest: +SKIP
        >>> batch.batch_size, batch.n_id[:3]                              # 3, tensor([0, 5, 7])  # doctest: +SKIP
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int] = (-1, -1)) -> None:
        if getattr(data, "edge_index", None) is None or data.num_nodes is None:
            raise DataError("neighbour sampling needs a graph with edge_index and num_nodes")
        self.data = data
        self.num_neighbors = check_num_neighbors(list(num_neighbors))
        n = int(data.num_nodes)
        source, target = data.edge_index.cpu()
        order = torch.argsort(target, stable=True)
        self.source, self.edge_id = source[order], order
        self.ptr = torch.zeros(n + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(target, minlength=n), 0, out=self.ptr[1:])
        self._local = torch.full((n,), -1, dtype=torch.long)  # global -> batch-local id, reset after each batch
        self._node_keys = [key for key in data.keys() if data.is_node_attr(key) and key != "edge_index"]
        self._edge_keys = [key for key in data.keys() if data.is_edge_attr(key) and key != "edge_index"]

    def _in_edges(self, nodes: Tensor) -> tuple[Tensor, Tensor]:
        """Positions (into ``self.source``) of the in-edges of ``nodes`` and the index of their node in ``nodes``."""
        starts, counts = self.ptr[nodes], self.ptr[nodes + 1] - self.ptr[nodes]
        owner = torch.repeat_interleave(torch.arange(nodes.numel()), counts)
        first = torch.cumsum(counts, 0) - counts
        return starts[owner] + torch.arange(owner.numel()) - first[owner], owner

    def _sample(self, nodes: Tensor, fanout: int) -> Tensor:
        """Sources of up to ``fanout`` random in-edges of each node (all with ``-1``), without replacement."""
        position, owner = self._in_edges(nodes)
        if fanout >= 0 and position.numel():
            # Random order inside each node's edges: sort by (owner, uniform key), keep the first `fanout`.
            order = torch.argsort(owner.double() + torch.rand(owner.numel(), dtype=torch.float64))
            counts = torch.bincount(owner, minlength=nodes.numel())
            rank = torch.arange(order.numel()) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
            position = position[order[rank < fanout]]
        return self.source[position]

    def __call__(self, roots: Tensor | Sequence[int]) -> Data:
        """The induced subgraph of ``roots`` and their sampled k-hop neighbourhood; roots first, then each hop's new
        nodes (sorted by id), ``batch_size = len(roots)``, ``n_id`` the global ids.

        Raises:
            DataError: A root is out of range or repeated.
        """
        roots = torch.as_tensor(roots, dtype=torch.long).reshape(-1).cpu()
        n = self._local.numel()
        if roots.numel() and (int(roots.min()) < 0 or int(roots.max()) >= n):
            raise DataError(f"root ids must lie in [0, {n}), got [{int(roots.min())}, {int(roots.max())}]")
        if torch.unique(roots).numel() != roots.numel():
            raise DataError("the roots of a batch must be distinct")
        local = self._local
        parts, frontier, count = [roots], roots, roots.numel()
        local[roots] = torch.arange(count)
        try:
            for fanout in self.num_neighbors:
                if not frontier.numel():
                    break
                reached = self._sample(frontier, fanout)
                new = torch.unique(reached[local[reached] < 0])
                local[new] = torch.arange(count, count + new.numel())
                count += new.numel()
                parts.append(new)
                frontier = new
            n_id = torch.cat(parts)
            position, owner = self._in_edges(n_id)
            source_local = local[self.source[position]]
            keep = source_local >= 0
            edge_index = torch.stack([source_local[keep], owner[keep]])
            edge_id = self.edge_id[position[keep]]
        finally:
            local[torch.cat(parts)] = -1
        batch = Data(edge_index=edge_index, num_nodes=int(n_id.numel()))
        for key in self._node_keys:
            batch[key] = self.data[key][n_id.to(self.data[key].device)]
        for key in self._edge_keys:
            batch[key] = self.data[key][edge_id.to(self.data[key].device)]
        batch.n_id, batch.e_id, batch.batch_size = n_id, edge_id, int(roots.numel())
        return batch


class NeighborBatches(torch.utils.data.Dataset):
    """The roots of a graph as a dataset whose items are *lists* of roots, each mapped to its sampled subgraph (the
    map-style dataset :func:`neighbor_loader` batches with ``batch_size=None``).

    Args:
        data: The graph.
        num_neighbors: Neighbours per node and hop (``-1``: all).
        backend: ``"auto"``, ``"pyg"`` (PyG's ``NeighborLoader``) or ``"k_hop"`` (:class:`KHopSampler`).
        roots: The candidate roots (default: every node).
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int], backend: str = "auto",
                 roots: Tensor | None = None) -> None:
        self.backend = neighbor_backend(backend)
        self.num_neighbors = check_num_neighbors(list(num_neighbors))
        self.roots = torch.arange(int(data.num_nodes)) if roots is None else torch.as_tensor(roots).long().cpu()
        if self.backend == "pyg":
            from torch_geometric.loader import NeighborLoader

            self._sample: Any = NeighborLoader(data, num_neighbors=self.num_neighbors, batch_size=1,
                                               subgraph_type="induced")
        else:
            self._sample = KHopSampler(data, self.num_neighbors)

    def __len__(self) -> int:
        return self.roots.numel()

    def __getitem__(self, index: Sequence[int]) -> Data:
        return self._sample(self.roots[torch.as_tensor(index, dtype=torch.long)])


def _as_is(batch: Data) -> Data:
    return batch


def neighbor_loader(
    data: Data,
    batch_size: int,
    num_neighbors: Sequence[int] = (10, 10),
    *,
    shuffle: bool = True,
    backend: str = "auto",
    shard: bool = False,
    drop_last: bool | None = None,
    roots: Tensor | None = None,
) -> DataLoader:
    """A ``DataLoader`` of neighbourhood mini-batches over ``roots`` (default: all nodes).

    Args:
        data: The (prepared) graph; stays where it is, batches are sliced from it.
        batch_size: Roots per (global) batch.
        num_neighbors: Neighbours per node and hop (``-1``: all); ``len(num_neighbors)`` hops.
        shuffle: New random batches every epoch, from the loader's own generator (seeded from torch's global RNG,
            so :func:`graphcl.utils.seed_everything` makes them reproducible); ``False`` keeps the id order.
        backend: ``"auto"`` (PyG's ``NeighborLoader`` when its kernels are installed, else ``"k_hop"``), ``"pyg"``
            or ``"k_hop"``.
        shard: In a ``torch.distributed`` run, yield this rank's share of every global batch; ``batch_size`` must
            then be a multiple of the world size, and the last, smaller batch is dropped on every rank.
        drop_last: Drop the last, smaller batch (default: only when it would hold fewer than 2 roots, which a
            contrastive loss over the roots cannot use, or when sharded).
        roots: Candidate roots (default: every node).

    Raises:
        ConfigError: ``batch_size`` is not a positive int, or not a multiple of the world size when sharded.
    """
    from graphcl.train.distributed import ShardedBatchSampler, world_size

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
    dataset = NeighborBatches(data, num_neighbors, backend, roots)
    if batch_size > len(dataset):
        raise ConfigError(f"batch_size={batch_size} is larger than the {len(dataset)} roots")
    world = world_size() if shard else 1
    if batch_size % world:
        raise ConfigError(f"batch_size={batch_size} must be a multiple of the {world} processes (each takes an "
                          f"equal share of every batch)")
    if drop_last is None:
        drop_last = world > 1 or len(dataset) % batch_size == 1
    generator = torch.Generator()
    generator.manual_seed(int(torch.randint(0, 2**62, ())))
    base = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    sampler: Any = BatchSampler(base, batch_size, drop_last)
    if shard:
        sampler = ShardedBatchSampler(sampler)
    return DataLoader(dataset, sampler=sampler, batch_size=None, generator=generator, collate_fn=_as_is)
