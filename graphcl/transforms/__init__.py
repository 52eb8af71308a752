"""Graph augmentations as :class:`torch_geometric.transforms.BaseTransform` subclasses.

The GRACE augmentations (Zhu et al., "Deep Graph Contrastive Representation Learning", 2020,
`arXiv:2006.04131 <https://arxiv.org/abs/2006.04131>`_) — :class:`DropEdge` and :class:`MaskFeature` —
GCA's centrality-adaptive :class:`AddCentrality`, :class:`AdaptiveDropEdge` and :class:`AdaptiveMaskFeature`,
plus the stochastic combinators :class:`RandomApply` and :class:`RandomChoice`, CSGCL's community-aware
:class:`AddCommunities`, :class:`CommunalEdgeDropping` (CED) and :class:`CommunalAttributeVoting` (CAV), and MEOW's
meta-path views :class:`MetaPathViews` and contexts :class:`MetaPathContexts` (on ``HeteroData`` with declared
meta-paths), and :class:`MetaPath2VecFeatures`, which gives featureless node types of a ``HeteroData``
metapath2vec embeddings (Dong et al., KDD 2017) as features. They work on :class:`~torch_geometric.data.Data` and
:class:`~torch_geometric.data.HeteroData`, never modify the input graph, and compose with
:class:`torch_geometric.transforms.Compose`:

.. code-block:: python

    from torch_geometric.transforms import Compose
    from graphcl.transforms import DropEdge, MaskFeature

    view = Compose([DropEdge(p=0.2), MaskFeature(p=0.3)])
    view_1, view_2 = view(data), view(data)

The tensor-level kernels (including the weighted GCA / CSGCL variants) live in :mod:`graphcl.functional`.
"""
from __future__ import annotations

from graphcl.transforms.centrality import AdaptiveDropEdge, AdaptiveMaskFeature, AddCentrality
from graphcl.transforms.community import (
    AddCommunities,
    CommunalAttributeVoting,
    CommunalEdgeDropping,
)
from graphcl.transforms.drop_edge import DropEdge
from graphcl.transforms.mask_feature import MaskFeature
from graphcl.transforms.metapath import MetaPathContexts, MetaPathViews
from graphcl.transforms.metapath2vec import MetaPath2VecFeatures
from graphcl.transforms.random_apply import RandomApply
from graphcl.transforms.random_choice import RandomChoice

__all__ = [
    "AdaptiveDropEdge",
    "AdaptiveMaskFeature",
    "AddCentrality",
    "AddCommunities",
    "CommunalAttributeVoting",
    "CommunalEdgeDropping",
    "DropEdge",
    "MaskFeature",
    "MetaPath2VecFeatures",
    "MetaPathContexts",
    "MetaPathViews",
    "RandomApply",
    "RandomChoice",
]
