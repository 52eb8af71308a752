"""HeCo — `"Self-supervised Heterogeneous Graph Neural Network with Co-contrastive Learning"
<https://arxiv.org/abs/2105.09111>`_ (Wang et al., KDD 2021).

Two views of the target nodes of a heterogeneous graph are encoded and contrasted with each other:

- the **network-schema view** :math:`z^{sc}`: sampled direct neighbours of each type, node-level then type-level
  attention (:class:`~graphcl.nn.heco.NetworkSchemaEncoder`);
- the **meta-path view** :math:`z^{mp}`: one GCN layer per meta-path graph, semantic attention
  (:class:`~graphcl.nn.heco.MetaPathViewEncoder`).

A shared projection head :math:`p` (``Linear → ELU → Linear``) maps both into the space of the co-contrastive loss
(:class:`~graphcl.losses.heco.CoContrastiveLoss`), whose positives are the nodes most connected to each node by
meta-paths: HeCo's ``pos.npz`` (``positives="file"``), or the same rule computed from the meta-path graphs
(``positives="metapath_count"``, see :func:`metapath_count_positives`). The downstream embedding is :math:`z^{mp}`
of an eval-mode pass (no dropout), before the head.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from graphcl.errors import ConfigError, DataError
from graphcl.losses.heco import CoContrastiveLoss
from graphcl.models.base import GraphModel
from graphcl.nn.heads import ProjectionHead
from graphcl.nn.heco import MetaPathViewEncoder, NeighbourSampler, NetworkSchemaEncoder
from graphcl.nn.metapath import SparseAdjacency, TypeProjection

__all__ = ["HeCo", "heco_positives", "metapath_count_positives", "mostly_zero_as_sparse", "normalized_metapath_operators",
           "target_with_metapaths"]

_POSITIVE_SOURCES = ("file", "metapath_count")
_NEIGHBOUR_FEATURES = ("onehot", "file")


def mostly_zero_as_sparse(x: Tensor, max_density: float = 0.05) -> Tensor:
    """Large dense features with few non-zeros (bag-of-words) as sparse COO, so that the first linear map costs
    ``O(nnz · d)``; other tensors unchanged."""
    if x.is_sparse or x.numel() < 1_000_000:
        return x
    return x.to_sparse() if int(torch.count_nonzero(x)) < max_density * x.numel() else x


def target_with_metapaths(data: Any, model: str) -> str:
    """The target node type of ``data``, checked to be a ``HeteroData`` with declared meta-paths and target
    features (``model`` names the caller in the errors)."""
    if not isinstance(data, HeteroData):
        raise ConfigError(f"{model} needs a heterogeneous graph (HeteroData with declared meta-paths, e.g. from "
                          f"graphcl.data.load_heco); got {type(data).__name__}")
    if not getattr(data, "metapath_specs", None):
        raise DataError("the graph declares no meta-paths (use graphcl.data.load_heco or "
                        "graphcl.data.heco.attach_metapaths)")
    target = data.target_type
    if data[target].get("x") is None:
        raise DataError(f"the target node type {target!r} has no features 'x'")
    return target


def _binary_metapath_edges(data: HeteroData, name: str) -> Tensor:
    target = data.target_type
    key = (target, name, target)
    if key not in data.edge_types:
        raise DataError(f"the graph has no meta-path graph {name!r} (edge type {key}); load it with "
                        f"graphcl.data.load_heco or graphcl.data.heco.attach_metapaths")
    return data[key].edge_index


def normalized_metapath_operators(data: HeteroData, self_loop_weight: float = 0.0) -> list[SparseAdjacency]:
    """:math:`D^{-1/2}(A_m + w I)D^{-1/2}` for every declared meta-path, with :math:`A_m` the **boolean** meta-path
    graph (its diagonal included, as in HeCo's files) and :math:`w` = ``self_loop_weight`` (HeCo: 0; DMGI: 3).

    Args:
        data: A graph with declared meta-paths and their stored graphs.
        self_loop_weight: Weight added on the diagonal before normalising. (default: ``0.0``)
    """
    n = data[data.target_type].num_nodes
    operators = []
    for spec in data.metapath_specs:
        edge_index = _binary_metapath_edges(data, spec.name)
        weight = torch.ones(edge_index.size(1), device=edge_index.device)
        if self_loop_weight:
            loops = torch.arange(n, device=edge_index.device).repeat(2, 1)
            edge_index = torch.cat([edge_index, loops], dim=1)
            weight = torch.cat([weight, torch.full((n,), float(self_loop_weight), device=weight.device)])
        edge_index, weight = gcn_norm(edge_index, weight, n, add_self_loops=False)
        matrix = torch.sparse_coo_tensor(edge_index, weight, (n, n), check_invariants=False)
        operators.append(SparseAdjacency(matrix))
    return operators


def metapath_count_positives(data: HeteroData, num_positives: int) -> Tensor:
    """HeCo's positive selection computed from the meta-path graphs (the rule of its ``data/pos.py``).

    .. math::
        c_i(j) = \\sum_m \\frac{A_m[i, j]}{\\sum_k A_m[i, k]}

    over the boolean meta-path graphs :math:`A_m`; each node keeps the (at most) ``num_positives`` nodes with the
    highest :math:`c_i(j) > 0`. Ties are broken by the smaller node id (the authors' ``np.argsort`` breaks them
    arbitrarily, so their ``pos.npz`` differs from this rule only among tied nodes).

    Args:
        data: A graph with declared meta-paths and their stored graphs.
        num_positives: :math:`T_{pos}` (HeCo: ACM 5, DBLP 1000, AMiner 15, Freebase 80).

    Returns:
        ``[2, P]`` pairs ``(i, j)``, sorted by ``i`` then ``j``.
    """
    if isinstance(num_positives, bool) or not isinstance(num_positives, int) or num_positives < 1:
        raise ConfigError(f"num_positives must be an int >= 1, got {num_positives!r}")
    n = data[data.target_type].num_nodes
    rows, cols, scores = [], [], []
    for spec in data.metapath_specs:
        edge_index = _binary_metapath_edges(data, spec.name).cpu()
        edge_index = torch.unique(edge_index, dim=1)
        degree = torch.bincount(edge_index[0], minlength=n).to(torch.float64)
        rows.append(edge_index[0])
        cols.append(edge_index[1])
        scores.append(1.0 / degree[edge_index[0]])
    score = torch.sparse_coo_tensor(torch.stack([torch.cat(rows), torch.cat(cols)]), torch.cat(scores),
                                    (n, n), check_invariants=False).coalesce()
    row, col = (t.numpy() for t in score.indices())
    value = score.values().numpy()
    order = np.lexsort((col, -value, row))  # by row, then highest score, then smallest id
    row, col = row[order], col[order]
    start = np.searchsorted(row, np.arange(n))
    rank = np.arange(row.size) - start[row]
    keep = rank < num_positives
    pairs = np.stack([row[keep], col[keep]])
    pairs = pairs[:, np.lexsort((pairs[1], pairs[0]))]
    return torch.from_numpy(np.ascontiguousarray(pairs)).to(torch.long)


def heco_positives(data: HeteroData, source: str, num_positives: int) -> Tensor:
    """HeCo's positive pairs ``[2, P]`` of the target type of ``data``: the folder's ``pos.npz`` (``source="file"``,
    read by the loader into ``positive_index``) or :func:`metapath_count_positives` (``"metapath_count"``), on the
    device of the target features.

    Raises:
        DataError: ``source="file"`` and the graph has no ``positive_index`` (no ``pos.npz`` in its folder).
    """
    target = data.target_type
    if source == "file":
        positive_index = data[target].get("positive_index")
        if positive_index is None:
            raise DataError("the graph has no HeCo positives (positive_index, read from pos.npz in the dataset "
                            "folder): add the file or set positives=metapath_count")
    else:
        positive_index = metapath_count_positives(data, num_positives)
    return positive_index.to(data[target].x.device)


class HeCo(GraphModel):
    """HeCo (Wang et al., KDD 2021): network-schema view vs meta-path view, co-contrastive loss with positives.

    .. math::
        \\mathcal{L} = \\frac1N\\sum_i \\Big[\\lambda\\,\\mathcal{L}^{mp}_i + (1-\\lambda)\\,\\mathcal{L}^{sc}_i\\Big],
        \\qquad \\mathcal{L}^{mp}_i = -\\log\\frac{\\sum_{j\\in P_i} e^{\\cos(p(z^{mp}_i), p(z^{sc}_j))/\\tau}}
        {\\sum_k e^{\\cos(p(z^{mp}_i), p(z^{sc}_k))/\\tau}}

    (:math:`\\mathcal{L}^{sc}` with the views swapped, same :math:`P_i`). The embedding is :math:`z^{mp}`.

    Args:
        projection: Type projections :math:`h_v = \\mathrm{ELU}(\\mathrm{Dropout}(W x_v + b))` of the target and
            every neighbour type.
        metapath_view: :class:`~graphcl.nn.heco.MetaPathViewEncoder`.
        schema_view: :class:`~graphcl.nn.heco.NetworkSchemaEncoder`.
        head: Shared projection head :math:`p`.
        loss: :class:`~graphcl.losses.heco.CoContrastiveLoss`.
        neighbour_samples: Neighbours sampled per target node, one per neighbour type of ``schema_view``.
        neighbour_features: ``"onehot"`` (HeCo: every neighbour type gets one-hot features) or ``"file"`` (the
            graph's features of each neighbour type).
        positives: ``"file"`` (the graph's ``positive_index``, HeCo's ``pos.npz``) or ``"metapath_count"``
            (:func:`metapath_count_positives` with ``num_positives``).
        num_positives: :math:`T_{pos}` for ``positives="metapath_count"``.
    """

    heterogeneous = True  # built from the HeteroData, evaluated with the DMGI / HeCo protocol
    embedding_summary = ("z^mp of an eval-mode pass (no dropout) with the best-loss weights restored, before the "
                         "projection head (the authors' get_embeds)")

    def __init__(self, projection: TypeProjection, metapath_view: MetaPathViewEncoder,
                 schema_view: NetworkSchemaEncoder, head: nn.Module, loss: CoContrastiveLoss, *,
                 neighbour_samples: Sequence[int], neighbour_features: str = "onehot", positives: str = "file",
                 num_positives: int = 5) -> None:
        super().__init__()
        if positives not in _POSITIVE_SOURCES:
            raise ConfigError(f"positives must be one of {_POSITIVE_SOURCES}, got {positives!r}")
        if neighbour_features not in _NEIGHBOUR_FEATURES:
            raise ConfigError(f"neighbour_features must be one of {_NEIGHBOUR_FEATURES}, got {neighbour_features!r}")
        if len(neighbour_samples) != len(schema_view.neighbour_types):
            raise ConfigError(f"neighbour_samples has {len(neighbour_samples)} entries for "
                              f"{len(schema_view.neighbour_types)} neighbour types {schema_view.neighbour_types}")
        for k in neighbour_samples:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ConfigError(f"neighbour_samples must hold ints >= 1, got {list(neighbour_samples)}")
        self.projection = projection
        self.metapath_view = metapath_view
        self.schema_view = schema_view
        self.head = head
        self.loss = loss
        self.neighbour_samples = [int(k) for k in neighbour_samples]
        self.neighbour_features = neighbour_features
        self.positives = positives
        self.num_positives = int(num_positives)
        self._graph: HeteroData | None = None
        self._inputs: dict[str, Any] | None = None

    @classmethod
    def build(
        cls,
        in_channels: HeteroData,
        hidden_channels: int = 64,
        tau: float = 0.8,
        lam: float = 0.5,
        feat_drop: float = 0.3,
        attn_drop: float = 0.5,
        neighbour_types: list[str] | None = None,
        neighbour_samples: list[int] = (6,),
        neighbour_features: str = "onehot",
        positives: str = "file",
        num_positives: int = 5,
        **unused: Any,
    ) -> HeCo:
        """HeCo with the authors' architecture for the graph ``in_channels`` (a ``HeteroData`` with declared
        meta-paths; feature sizes and neighbour types are read from it).

        Args:
            in_channels: The graph.
            hidden_channels: :math:`d` of every projection, view and the head. (default: ``64``)
            tau: Temperature :math:`\\tau`. (default: ``0.8``, the authors' ACM value)
            lam: :math:`\\lambda`, the weight of the meta-path-view anchors. (default: ``0.5``)
            feat_drop: Dropout after the type projections. (default: ``0.3``)
            attn_drop: Dropout on the attention vectors. (default: ``0.5``)
            neighbour_types: Neighbour types of the network-schema view; ``None`` = every node type joined to the
                target by a relation, in the graph's order. (default: ``None``)
            neighbour_samples: Neighbours sampled per target node and type (one entry applies to every type).
                (default: ``[6]``)
            neighbour_features: ``"onehot"`` (HeCo) or ``"file"``. (default: ``"onehot"``)
            positives: ``"file"`` (``pos.npz``) or ``"metapath_count"``. (default: ``"file"``)
            num_positives: :math:`T_{pos}` for ``positives="metapath_count"``. (default: ``5``, ACM's)
        """
        if unused:
            raise TypeError(f"HeCo.build() got unexpected arguments: {sorted(unused)}")
        data = in_channels
        target = target_with_metapaths(data, "HeCo")
        types = list(neighbour_types) if neighbour_types else _adjacent_types(data)
        samples = list(neighbour_samples)
        if len(samples) == 1:
            samples = samples * len(types)
        channels = {target: int(data[target].x.size(1))}
        for node_type in types:
            if node_type not in data.node_types:
                raise ConfigError(f"neighbour type {node_type!r} is not a node type of the graph {data.node_types}")
            if neighbour_features == "file" and data[node_type].get("x") is None:
                raise DataError(f"neighbour type {node_type!r} has no features 'x' (neighbour_features='file')")
            channels[node_type] = (data[node_type].num_nodes if neighbour_features == "onehot"
                                   else int(data[node_type].x.size(1)))
        head = ProjectionHead(hidden_channels, hidden_channels, hidden_channels, "elu")
        for linear in (head.fc1, head.fc2):
            nn.init.xavier_normal_(linear.weight, gain=1.414)
        return cls(
            TypeProjection(channels, hidden_channels, feat_drop),
            MetaPathViewEncoder(len(data.metapath_specs), hidden_channels, attn_drop),
            NetworkSchemaEncoder(types, hidden_channels, attn_drop),
            head,
            CoContrastiveLoss(tau, lam),
            neighbour_samples=samples,
            neighbour_features=neighbour_features,
            positives=positives,
            num_positives=num_positives,
        )

    def _features(self, data: HeteroData, node_type: str) -> Tensor:
        if node_type != data.target_type and self.neighbour_features == "onehot":
            n = data[node_type].num_nodes
            device = data[data.target_type].x.device
            index = torch.arange(n, device=device).repeat(2, 1)
            return torch.sparse_coo_tensor(index, torch.ones(n, device=device), (n, n),
                                           check_invariants=False).coalesce()
        return mostly_zero_as_sparse(data[node_type].x)

    def prepare(self, data: HeteroData) -> HeteroData:
        """Build what every step uses: normalised meta-path operators, neighbour samplers, features and the
        positive pairs of ``data``; returns ``data`` itself (training steps must get this same object)."""
        target = target_with_metapaths(data, "HeCo")
        n = data[target].num_nodes
        samplers = {}
        for node_type in self.schema_view.neighbour_types:
            samplers[node_type] = NeighbourSampler(data[_relation(data, target, node_type)].edge_index, n)
        positive_index = heco_positives(data, self.positives, self.num_positives)
        without = n - int(torch.unique(positive_index[0]).numel()) if positive_index.numel() else n
        if without:
            raise DataError(f"{without} of {n} {target!r} nodes have no positive: the co-contrastive loss is "
                            f"undefined for them")
        self._graph = data
        self._inputs = {
            "operators": normalized_metapath_operators(data),
            "samplers": samplers,
            "features": {t: self._features(data, t) for t in (target, *self.schema_view.neighbour_types)},
            "positive_index": positive_index,
        }
        return data

    def forward(self, data: HeteroData) -> Tensor:
        """Co-contrastive loss of one step (fresh neighbour samples, dropout)."""
        if self._inputs is None or data is not self._graph:
            raise DataError("HeCo trains on the graph it was prepared for: call data = model.prepare(data) first")
        inputs = self._inputs
        target = data.target_type
        h = {t: self.projection(t, x) for t, x in inputs["features"].items()}
        z_mp, _ = self.metapath_view(h[target], inputs["operators"])
        samples = {t: inputs["samplers"][t].sample(k)
                   for t, k in zip(self.schema_view.neighbour_types, self.neighbour_samples)}
        z_sc, _ = self.schema_view(h[target], h, samples)
        return self.loss(self.head(z_mp), self.head(z_sc), inputs["positive_index"])

    def embed(self, data: HeteroData) -> Tensor:
        """:math:`z^{mp}` of an eval-mode pass over ``data`` (no dropout), detached, ``[N, d]``."""
        target = target_with_metapaths(data, "HeCo")
        operators = self._inputs["operators"] if data is self._graph and self._inputs else \
            normalized_metapath_operators(data)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                x = mostly_zero_as_sparse(data[target].x)
                return self.metapath_view(self.projection(target, x), operators)[0]
        finally:
            self.train(was_training)


def _adjacent_types(data: HeteroData) -> list[str]:
    """Node types joined to the target type by a relation (not a meta-path graph), in the graph's order."""
    target = data.target_type
    metapaths = {spec.name for spec in data.metapath_specs}
    types = []
    for src, relation, dst in data.edge_types:
        if src == target and dst != target and relation not in metapaths and dst not in types:
            types.append(dst)
    if not types:
        raise DataError(f"the target type {target!r} has no relation to another node type (the network-schema "
                        f"view needs direct neighbours)")
    return types


def _relation(data: HeteroData, target: str, node_type: str) -> tuple[str, str, str]:
    metapaths = {spec.name for spec in data.metapath_specs}
    found = [et for et in data.edge_types
             if et[0] == target and et[2] == node_type and et[1] not in metapaths and "edge_index" in data[et]]
    if len(found) != 1:
        raise DataError(f"expected one relation from {target!r} to {node_type!r} for the network-schema view, found "
                        f"{found or 'none'}")
    return found[0]
