"""Tensor-level graph augmentations: the functions the :mod:`graphcl.transforms` call.

The uniform augmentations of GRACE (Zhu et al., "Deep Graph Contrastive Representation Learning", 2020,
`arXiv:2006.04131 <https://arxiv.org/abs/2006.04131>`_) are PyG's own
:func:`~torch_geometric.utils.dropout_edge` and :func:`~torch_geometric.utils.mask_feature`, re-exported
here. The weighted versions take one probability per edge / feature, as GCA (Zhu et al., WWW 2021) and CSGCL
(Chen et al., IJCAI 2023) need; :mod:`graphcl.functional.centrality` computes GCA's centrality-adaptive
probabilities. All follow PyG's return contract ``(augmented, mask)`` with ``mask`` ``True``
where an element is kept.
"""
from __future__ import annotations

from torch_geometric.utils import dropout_edge, mask_feature

from graphcl.functional.centrality import (
    adaptive_drop_probability,
    centrality_drop_weights,
    degree_centrality,
    eigenvector_centrality,
    feature_centrality,
    node_centrality,
    pagerank_centrality,
)
from graphcl.functional.community import (
    attribute_voting_probability,
    communal_edge_weight,
    community_strength,
    detect_communities,
    edge_keep_probability,
)
from graphcl.functional.edge_dropping import drop_edge_weighted
from graphcl.functional.feature_masking import mask_feature_weighted
from graphcl.functional.influence import AddInfluence, influence_matrix
from graphcl.functional.knn import knn_graph

__all__ = [
    "AddInfluence",
    "adaptive_drop_probability",
    "centrality_drop_weights",
    "degree_centrality",
    "eigenvector_centrality",
    "feature_centrality",
    "node_centrality",
    "pagerank_centrality",
    "attribute_voting_probability",
    "communal_edge_weight",
    "community_strength",
    "detect_communities",
    "drop_edge_weighted",
    "dropout_edge",
    "edge_keep_probability",
    "influence_matrix",
    "knn_graph",
    "mask_feature",
    "mask_feature_weighted",
]
