"""Structural node features from metapath2vec (Dong, Chawla & Swami, "metapath2vec: Scalable Representation Learning
for Heterogeneous Networks", KDD 2017, https://ericdongyx.github.io/papers/KDD17-dong-chawla-swami-metapath2vec.pdf)
for the node types of a ``HeteroData`` that have no features of their own.

HeCo-format datasets give a one-hot identity to every type without a feature file (every type of AMiner and
Freebase); MEOW's authors used 64-d metapath2vec embeddings for all AMiner types instead (spec meow.md §2.3; their
files were never published). :class:`MetaPath2VecFeatures` trains :class:`torch_geometric.nn.MetaPath2Vec` (pure
torch in PyG 2.8: the walks are sampled with ``torch.rand`` over CSR pointers, no ``torch_cluster``) on the graph's
relations and replaces ``x`` of the chosen types with the learned embeddings.
"""
from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from numbers import Integral, Real

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.transforms import BaseTransform

from graphcl.data.heco import relation_types
from graphcl.errors import ConfigError, DataError
from graphcl.transforms._registry import functional_name

log = logging.getLogger(__name__)

__all__ = ["MetaPath2VecFeatures", "featureless_node_types", "metapath2vec_cycle"]

EdgeType = tuple[str, str, str]


@functional_name("metapath2vec_features")
class MetaPath2VecFeatures(BaseTransform):
    r"""Replaces the features of featureless node types with metapath2vec embeddings learned on the graph.

    metapath2vec (Dong et al., KDD 2017) samples random walks that follow a meta-path cycle
    :math:`\mathcal{P} = t_0 \to t_1 \to \dots \to t_L = t_0` (a walk of length :math:`\ell` repeats it), slides a
    window of ``context_size`` nodes over every walk, and trains one embedding :math:`v_u` per node with the
    skip-gram negative-sampling loss

    .. math::
        \mathcal{L} = -\sum_{(u, c)} \Big[\log \sigma(v_u^\top v_c)
            + \sum_{n=1}^{K} \log \sigma(-v_u^\top v_{c_n})\Big],

    where :math:`c` ranges over the window after :math:`u` and the :math:`K` negatives :math:`c_n` are uniform
    nodes of the type at the same position of the cycle. The model is PyG's
    :class:`~torch_geometric.nn.MetaPath2Vec` (sparse embeddings, :class:`torch.optim.SparseAdam`), with the
    embeddings initialised as word2vec initialises its input vectors, :math:`\mathcal{U}(\pm 0.5 / d)` (PyG's
    :math:`\mathcal{N}(0, 1)` start trains far more slowly).

    **Which types.** By default every node type whose ``x`` is a one-hot identity (the sparse or dense
    :math:`N \times N` identity that :func:`graphcl.data.heco.load_heco` gives a type without a feature file), or
    that has no ``x`` at all; ``node_types`` names them explicitly. Only these types get new features; the others
    keep theirs (their embeddings are trained but dropped). The input graph is never modified.

    **Which meta-path.** An explicit ``metapath`` (PyG's format: a list of edge types, each starting where the
    previous one ended, the last ending where the first starts) is used as given. Otherwise the cycle is derived
    from the graph (:func:`metapath2vec_cycle`): it starts at ``data.target_type`` (else the first chosen type) and
    concatenates the declared meta-paths (``data.metapath_specs``) that pass through a chosen type (all of them
    when the target type itself is chosen), then a shortest round trip from the start for every chosen type still
    not on the cycle. On HeCo's AMiner this gives paper → author → paper → reference → paper (PAP then PRP); on
    Freebase MAM, MDM, MWM; on ACM (only ``subject`` is featureless) PSP. Walks start at every node of the start
    type; a node that no walk reaches (no relation along the cycle) keeps its random initial vector.

    **Cost** (rule of thumb, 1 CPU thread): one epoch costs about
    :math:`N_{t_0} \cdot w \cdot (\ell + 2 - k) \cdot k \cdot (1 + K)` embedding look-ups for :math:`w` walks per
    node of length :math:`\ell` and window :math:`k`; with the defaults on AMiner-size graphs (6.5k papers, 13k
    authors, 36k references) an epoch takes about 40 s and the whole training 3-4 minutes, under 1 GB of memory.
    About half of it is system time spent mapping the large per-batch walk tensors: ``batch_size=32`` takes about a
    third less time (with a somewhat higher final loss). The authors' files were named for 1,000 walks of length
    100 per node, far more than this. Results are deterministic for a
    ``seed`` on a given machine and thread count; the global random state is left as it was.

    Args:
        node_types: The node types whose features are replaced; ``None`` picks every type with one-hot
            (identity) features or without ``x``. (default: ``None``)
        metapath: The walk's meta-path cycle as a list of edge types; ``None`` derives it (see above).
            (default: ``None``)
        embedding_dim: Dimension :math:`d` of the learned features. (default: ``64``, as MEOW's AMiner files)
        walk_length: Steps :math:`\ell` of each walk; at least the cycle's length, so every type on it is visited.
            (default: ``40``)
        context_size: Window :math:`k` (nodes, the centre included) of the skip-gram pairs, in
            :math:`[2, \ell + 1]`. (default: ``7``)
        walks_per_node: Walks :math:`w` started at each node of the start type per epoch. (default: ``10``)
        num_negative_samples: Negatives :math:`K` per positive window. (default: ``1``)
        epochs: Passes over the start nodes. (default: ``5``)
        batch_size: Start nodes per optimisation step. (default: ``128``)
        lr: SparseAdam learning rate. (default: ``0.025``, word2vec's)
        seed: Seed of the initialisation, the walks, the negatives and the batch order. (default: ``0``)

    Raises:
        ConfigError: An argument of the wrong type or out of range (one line naming it).
        DataError: (when applied) not a ``HeteroData``, unknown node or edge types, no featureless type to
            replace, or a meta-path that does not chain, is not a cycle or misses a chosen type.

    Example:
        >>> from graphcl.data.heco import load_heco
        >>> data = MetaPath2VecFeatures(epochs=5)(load_heco("aminer", root))  # doctest: +SKIP
        >>> data["author"].x.shape  # doctest: +SKIP
        torch.Size([13329, 64])
    """

    def __init__(
        self,
        node_types: Sequence[str] | str | None = None,
        metapath: Sequence[Sequence[str]] | None = None,
        *,
        embedding_dim: int = 64,
        walk_length: int = 40,
        context_size: int = 7,
        walks_per_node: int = 10,
        num_negative_samples: int = 1,
        epochs: int = 5,
        batch_size: int = 128,
        lr: float = 0.025,
        seed: int = 0,
    ) -> None:
        name = type(self).__name__
        self.node_types = _check_node_types(node_types, name)
        self.metapath = _check_metapath(metapath, name)
        self.embedding_dim = _check_int(embedding_dim, "embedding_dim", name)
        self.walk_length = _check_int(walk_length, "walk_length", name)
        self.context_size = _check_int(context_size, "context_size", name, minimum=2)
        if self.context_size > self.walk_length + 1:
            raise ConfigError(f"{name}: 'context_size' ({self.context_size}) must be at most walk_length + 1 "
                              f"({self.walk_length + 1})")
        self.walks_per_node = _check_int(walks_per_node, "walks_per_node", name)
        self.num_negative_samples = _check_int(num_negative_samples, "num_negative_samples", name)
        self.epochs = _check_int(epochs, "epochs", name)
        self.batch_size = _check_int(batch_size, "batch_size", name)
        if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or lr <= 0:
            raise ConfigError(f"{name}: 'lr' must be a positive finite number, got {lr!r}")
        self.lr = float(lr)
        self.seed = _check_int(seed, "seed", name, minimum=0)

    def arguments(self) -> dict[str, object]:
        """The constructor arguments as plain values (what a cache of the learned features is keyed on)."""
        return {"node_types": None if self.node_types is None else list(self.node_types),
                "metapath": None if self.metapath is None else [list(edge_type) for edge_type in self.metapath],
                "embedding_dim": self.embedding_dim, "walk_length": self.walk_length,
                "context_size": self.context_size, "walks_per_node": self.walks_per_node,
                "num_negative_samples": self.num_negative_samples, "epochs": self.epochs,
                "batch_size": self.batch_size, "lr": self.lr, "seed": self.seed}

    def forward(self, data: HeteroData) -> HeteroData:
        """Trains the embeddings and sets ``x`` of the chosen types of ``data`` (a shallow copy made by
        ``__call__``) to them (``[N_t, embedding_dim]``, float32)."""
        embeddings = self.embed(data)
        for node_type, x in embeddings.items():
            data[node_type].x = x
        return data

    def embed(self, data: HeteroData) -> dict[str, Tensor]:
        """The learned embeddings of the chosen node types, ``{type: [N_t, embedding_dim]}``, without changing
        ``data``."""
        from torch_geometric.nn import MetaPath2Vec

        name = type(self).__name__
        if not isinstance(data, HeteroData):
            raise DataError(f"{name} needs a HeteroData (node types joined by relations), got "
                            f"{type(data).__name__}")
        chosen = self._chosen_types(data)
        cycle = (self._checked_cycle(data, chosen) if self.metapath is not None
                 else metapath2vec_cycle(data, chosen))
        if self.walk_length < len(cycle):
            raise ConfigError(f"{name}: 'walk_length' ({self.walk_length}) is shorter than the meta-path cycle "
                              f"({len(cycle)} steps: {_describe(cycle)}); walks would miss some of its types")
        types = {edge_type[0] for edge_type in cycle}
        num_nodes = {t: int(data[t].num_nodes) for t in types}
        edges = {edge_type: data[edge_type].edge_index.cpu() for edge_type in cycle}
        log.info("%s: training %d-d embeddings of %s along %s (%d epochs)", name, self.embedding_dim,
                 ", ".join(chosen), _describe(cycle), self.epochs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = MetaPath2Vec(edges, self.embedding_dim, cycle, self.walk_length, self.context_size,
                                 self.walks_per_node, self.num_negative_samples, num_nodes_dict=num_nodes,
                                 sparse=True)
            bound = 0.5 / self.embedding_dim
            torch.nn.init.uniform_(model.embedding.weight, -bound, bound)  # word2vec's input-vector start
            optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=self.lr)
            order = torch.Generator().manual_seed(self.seed)
            loader = model.loader(batch_size=self.batch_size, shuffle=True, generator=order)
            for epoch in range(self.epochs):
                total, steps = 0.0, 0
                for positive, negative in loader:
                    optimizer.zero_grad()
                    loss = model.loss(positive, negative)
                    loss.backward()
                    optimizer.step()
                    total, steps = total + float(loss.detach()), steps + 1
                log.info("%s: epoch %d/%d, loss %.4f", name, epoch + 1, self.epochs, total / max(steps, 1))
        out = {}
        for node_type in chosen:
            x = model(node_type).detach().clone().float()
            if not bool(torch.isfinite(x).all()):
                raise DataError(f"{name}: the embeddings of {node_type!r} are not finite (lower 'lr')")
            out[node_type] = x
        return out

    def _chosen_types(self, data: HeteroData) -> list[str]:
        name = type(self).__name__
        if self.node_types is None:
            chosen = featureless_node_types(data)
            if not chosen:
                raise DataError(f"{name}: no node type has one-hot (identity) features or lacks 'x'; name the "
                                f"types to replace with node_types=[...] (types: {data.node_types})")
            return chosen
        unknown = [t for t in self.node_types if t not in data.node_types]
        if unknown:
            raise DataError(f"{name}: node type(s) {unknown} are not in the graph (types: {data.node_types})")
        return list(self.node_types)

    def _checked_cycle(self, data: HeteroData, chosen: Sequence[str]) -> list[EdgeType]:
        name = type(self).__name__
        cycle = [tuple(edge_type) for edge_type in self.metapath]
        for step, edge_type in enumerate(cycle):
            if edge_type not in data.edge_types or "edge_index" not in data[edge_type]:
                raise DataError(f"{name}: metapath step {step}, edge type {edge_type}, is not in the graph")
        for step, (first, second) in enumerate(zip(cycle, cycle[1:] + cycle[:1])):
            if first[2] != second[0]:
                what = "the cycle does not close: the last step ends" if step == len(cycle) - 1 else \
                    f"step {step} ends"
                raise DataError(f"{name}: metapath {_describe(cycle)} does not chain: {what} at {first[2]!r} but "
                                f"step {(step + 1) % len(cycle)} starts at {second[0]!r}")
        missing = [t for t in chosen if t not in {edge_type[0] for edge_type in cycle}]
        if missing:
            raise DataError(f"{name}: metapath {_describe(cycle)} never visits {missing}, whose features it "
                            f"should replace")
        return cycle

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in self.arguments().items())
        return f"{type(self).__name__}({settings})"


def featureless_node_types(data: HeteroData) -> list[str]:
    """The node types of ``data`` whose ``x`` is a one-hot identity (sparse or dense ``N × N``), or missing.

    Args:
        data: A heterogeneous graph.

    Returns:
        Their names, in ``data.node_types`` order.
    """
    return [t for t in data.node_types if "x" not in data[t] or _is_identity(data[t].x)]


def metapath2vec_cycle(data: HeteroData, node_types: Sequence[str]) -> list[EdgeType]:
    """A meta-path cycle (PyG edge types) through ``node_types``, derived from the declared meta-paths and relations.

    It starts at ``data.target_type`` (else ``node_types[0]``) and is the concatenation of the declared meta-paths
    (``data.metapath_specs``, e.g. from :func:`graphcl.data.heco.load_heco`) that pass through a type of
    ``node_types`` (every declared meta-path when the start type is one of them), followed by a shortest round
    trip start → t → start over the relations for every type t still not on it. Each step uses the unique edge
    type from one type to the next (HeCo graphs hold both directions of every relation as ``(a, "to", b)``);
    declared meta-path graphs ``(t, name, t)`` are never walked.

    Args:
        data: The graph.
        node_types: The types the walks must visit.

    Returns:
        The edge types of the cycle, the last one ending at the start type.

    Raises:
        DataError: A type unreachable from the start (or unable to return), or several edge types between two
            consecutive types (pass the meta-path explicitly then).
    """
    start = getattr(data, "target_type", None) or node_types[0]
    if start not in data.node_types:
        raise DataError(f"the start type {start!r} of the meta-path cycle is not in the graph "
                        f"(types: {data.node_types})")
    specs = tuple(getattr(data, "metapath_specs", None) or ())
    relations = relation_types(data)
    wanted = set(node_types)
    cycle: list[EdgeType] = []
    for spec in specs:
        path = tuple(spec.node_types)
        if path[0] != start or path[-1] != start:
            continue
        if start in wanted or wanted & set(path):
            cycle += [_edge_between(relations, a, b, spec.name) for a, b in zip(path[:-1], path[1:])]
    covered = {start} | {edge_type[2] for edge_type in cycle}
    for node_type in node_types:
        if node_type in covered:
            continue
        there, back = _shortest_path(relations, start, node_type), _shortest_path(relations, node_type, start)
        if there is None or back is None:
            way = f"from {start!r}" if there is None else f"back to {start!r}"
            raise DataError(f"node type {node_type!r} cannot be reached {way} along the relations "
                            f"{sorted(relations)}; pass an explicit metapath")
        cycle += there + back
        covered |= {edge_type[2] for edge_type in there + back}
    if not cycle:  # only the start type is wanted and nothing is declared: its shortest round trip
        neighbours = sorted({edge_type[2] for edge_type in relations if edge_type[0] == start})
        for other in neighbours:
            there, back = _shortest_path(relations, start, other), _shortest_path(relations, other, start)
            if there is not None and back is not None:
                return there + back
        raise DataError(f"node type {start!r} has no relation to walk along and back; pass an explicit metapath")
    return cycle


# ------------------------------------------------------------------------------------------------------ helpers


def _is_identity(x: object) -> bool:
    if not isinstance(x, Tensor) or x.dim() != 2 or x.size(0) != x.size(1):
        return False
    n = x.size(0)
    if x.is_sparse:
        x = x.coalesce()
        index, values = x.indices(), x.values()
        return values.numel() == n and bool((index[0] == index[1]).all()) and bool((values == 1).all())
    if x.layout != torch.strided:
        return False
    return n <= 50_000 and bool(torch.equal(x, torch.eye(n, dtype=x.dtype, device=x.device)))


def _edge_between(relations: Sequence[EdgeType], a: str, b: str, metapath: str) -> EdgeType:
    found = [edge_type for edge_type in relations if edge_type[0] == a and edge_type[2] == b]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(f"meta-path {metapath!r}: no edge type from {a!r} to {b!r} to walk along (walks follow "
                        f"edge types in their direction; add the reverse edges, e.g. with T.ToUndirected())")
    raise DataError(f"meta-path {metapath!r}: several edge types from {a!r} to {b!r} ({found}); pass an "
                    f"explicit metapath")


def _shortest_path(relations: Sequence[EdgeType], source: str, target: str) -> list[EdgeType] | None:
    """Breadth-first search over node types; the first edge type in ``relations`` order wins ties."""
    previous: dict[str, EdgeType | None] = {source: None}
    queue = deque([source])
    while queue:
        node_type = queue.popleft()
        if node_type == target and node_type != source:
            break
        for edge_type in relations:
            if edge_type[0] == node_type and edge_type[2] not in previous:
                previous[edge_type[2]] = edge_type
                queue.append(edge_type[2])
    if target not in previous or target == source:
        return None
    path: list[EdgeType] = []
    node_type = target
    while node_type != source:
        edge_type = previous[node_type]
        path.append(edge_type)
        node_type = edge_type[0]
    return path[::-1]


def _describe(cycle: Sequence[EdgeType]) -> str:
    return " -> ".join([cycle[0][0], *(edge_type[2] for edge_type in cycle)]) if cycle else "(empty)"


def _check_int(value: object, key: str, owner: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ConfigError(f"{owner}: '{key}' must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_node_types(node_types: object, owner: str) -> tuple[str, ...] | None:
    if node_types is None:
        return None
    if isinstance(node_types, str):
        node_types = [node_types]
    if not isinstance(node_types, Sequence) or not node_types \
            or not all(isinstance(t, str) and t for t in node_types):
        raise ConfigError(f"{owner}: 'node_types' must be None or a non-empty list of node type names, got "
                          f"{node_types!r}")
    if len(set(node_types)) != len(node_types):
        raise ConfigError(f"{owner}: 'node_types' lists a type twice: {list(node_types)}")
    return tuple(node_types)


def _check_metapath(metapath: object, owner: str) -> tuple[EdgeType, ...] | None:
    if metapath is None:
        return None
    if isinstance(metapath, (str, bytes)) or not isinstance(metapath, Sequence) or not metapath or not all(
            isinstance(edge_type, Sequence) and not isinstance(edge_type, str) and len(edge_type) == 3
            and all(isinstance(part, str) for part in edge_type) for edge_type in metapath):
        raise ConfigError(f"{owner}: 'metapath' must be None or a non-empty list of (src, relation, dst) edge "
                          f"types, got {metapath!r}")
    return tuple(tuple(edge_type) for edge_type in metapath)
