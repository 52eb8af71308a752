"""Centrality-adaptive augmentations of GCA — `"Graph Contrastive Learning with Adaptive Augmentation"
<https://arxiv.org/abs/2010.14945>`_ (Zhu et al., WWW 2021).

:class:`AddCentrality` computes the drop weights once per graph and stores them on it; :class:`AdaptiveDropEdge`
and :class:`AdaptiveMaskFeature` draw one view from them per call (one Bernoulli per edge / feature column):

.. code-block:: python

    from torch_geometric.transforms import Compose
    from graphcl.transforms import AdaptiveDropEdge, AdaptiveMaskFeature, AddCentrality

    data = AddCentrality("degree")(data)
    view = Compose([AdaptiveDropEdge(p=0.2), AdaptiveMaskFeature(p=0.3)])
    view_1, view_2 = view(data), view(data)

The maths is in :mod:`graphcl.functional.centrality`.
"""
from __future__ import annotations

from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from graphcl.errors import ConfigError, DataError
from graphcl.functional import drop_edge_weighted, mask_feature_weighted
from graphcl.functional._checks import check_probability
from graphcl.functional.centrality import (
    SCHEMES,
    adaptive_drop_probability,
    centrality_drop_weights,
    edge_centrality,
    feature_centrality,
    node_centrality,
)
from graphcl.transforms._edges import select_edges
from graphcl.transforms._registry import functional_name

#: Attributes written by :class:`AddCentrality`: ``[E]`` edge drop weights (kept aligned when edges are dropped)
#: and ``[1, F]`` feature drop weights (a graph-level row, so PyG never mistakes it for a node or edge attribute).
EDGE_WEIGHTS, FEATURE_WEIGHTS = "edge_drop_weight", "feature_drop_weight"


def _check_homogeneous(data: Data, owner: str) -> Data:
    if not isinstance(data, Data):
        raise DataError(f"{owner} works on homogeneous graphs (Data); got {type(data).__name__}")
    if "edge_index" not in data:
        raise DataError(f"{owner} needs 'data.edge_index', which is missing")
    return data


@functional_name("add_centrality")
class AddCentrality(BaseTransform):
    r"""Stores GCA's edge and feature drop weights on the graph (computed once; Zhu et al., WWW 2021).

    Adds ``data.edge_drop_weight`` (``[E]``, from the target node's centrality) and ``data.feature_drop_weight``
    (``[1, F]``, from :math:`\sum_u \mathbb{1}[x_{uf} \neq 0]\,\varphi_c(u)`), both
    :math:`w = (s_{\max} - s)/(s_{\max} - \mu_s)` with :math:`s = \log(\cdot + 1)`
    (:func:`~graphcl.functional.centrality.centrality_drop_weights`).

    Args:
        scheme: ``"degree"`` (GCA-DE), ``"pagerank"`` (GCA-PR) or ``"eigenvector"`` (GCA-EV). (default: ``"degree"``)
        edge_pagerank_iterations: PageRank steps for the edge weights (the authors: 200). (default: ``200``)
        feature_pagerank_iterations: PageRank steps for the feature weights (the authors: 10). (default: ``10``)
        dense_features: Weigh features by magnitude, :math:`\sum_u |x_{uf}|\varphi_c(u)` (the authors' WikiCS
            variant). (default: ``False``)
    """

    def __init__(
        self,
        scheme: str = "degree",
        edge_pagerank_iterations: int = 200,
        feature_pagerank_iterations: int = 10,
        dense_features: bool = False,
    ) -> None:
        if scheme not in SCHEMES:
            raise ConfigError(f"{type(self).__name__}: scheme must be one of {SCHEMES}, got {scheme!r}")
        for name, value in (("edge_pagerank_iterations", edge_pagerank_iterations),
                            ("feature_pagerank_iterations", feature_pagerank_iterations)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{type(self).__name__}: {name} must be an int >= 1, got {value!r}")
        self.scheme = scheme
        self.edge_pagerank_iterations = edge_pagerank_iterations
        self.feature_pagerank_iterations = feature_pagerank_iterations
        self.dense_features = bool(dense_features)

    def forward(self, data: Data) -> Data:
        """Adds the two weight tensors to ``data`` (a shallow copy made by ``__call__``)."""
        data = _check_homogeneous(data, type(self).__name__)
        n, edge_index = int(data.num_nodes), data.edge_index
        edge_phi = node_centrality(edge_index, n, self.scheme, self.edge_pagerank_iterations)
        data[EDGE_WEIGHTS] = centrality_drop_weights(edge_centrality(edge_index, edge_phi))
        x = getattr(data, "x", None)
        if isinstance(x, Tensor) and x.dim() == 2:
            feature_phi = (
                edge_phi if self.scheme != "pagerank"
                else node_centrality(edge_index, n, self.scheme, self.feature_pagerank_iterations)
            )
            weights = centrality_drop_weights(feature_centrality(x, feature_phi, self.dense_features))
            data[FEATURE_WEIGHTS] = weights.to(x.dtype if x.is_floating_point() else weights.dtype).view(1, -1)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scheme={self.scheme!r})"


def _weights(data: Data, key: str, owner: str, size: int) -> Tensor:
    if key not in data:
        raise DataError(f"{owner} needs 'data.{key}': apply AddCentrality() first")
    weights = data[key].reshape(-1)
    if weights.numel() != size:
        raise DataError(f"{owner}: 'data.{key}' has {weights.numel()} entries, expected {size}")
    return weights


@functional_name("adaptive_drop_edge")
class AdaptiveDropEdge(BaseTransform):
    r"""Drops each edge with its centrality-adaptive probability (GCA, Zhu et al., WWW 2021).

    .. math::
        p_e = \min\Big(\frac{w_e}{\bar w}\,p,\ p_\tau\Big)

    with :math:`w` = ``data.edge_drop_weight`` (:class:`AddCentrality`). Each direction is its own edge, as in
    the authors' code; edge attributes stay aligned.

    Args:
        p: Mean drop rate. (default: ``0.3``)
        threshold: Cap :math:`p_\tau` (the authors pass ``0.7``). (default: ``0.7``)
    """

    def __init__(self, p: float = 0.3, threshold: float = 0.7) -> None:
        self.p = check_probability(p, "p", type(self).__name__, ConfigError)
        self.threshold = check_probability(threshold, "threshold", type(self).__name__, ConfigError)

    def forward(self, data: Data) -> Data:
        """Drops edges of ``data`` (a shallow copy made by ``__call__``)."""
        data = _check_homogeneous(data, type(self).__name__)
        weights = _weights(data, EDGE_WEIGHTS, type(self).__name__, data.edge_index.size(1))
        prob = adaptive_drop_probability(weights, self.p, self.threshold).to(data.edge_index.device)
        _, mask = drop_edge_weighted(data.edge_index, prob)
        select_edges(data.edge_stores[0], mask)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, threshold={self.threshold})"


@functional_name("adaptive_mask_feature")
class AdaptiveMaskFeature(BaseTransform):
    r"""Masks each feature column with its centrality-adaptive probability (GCA, Zhu et al., WWW 2021).

    .. math::
        p_f = \min\Big(\frac{w_f}{\bar w}\,p,\ p_\tau\Big)

    with :math:`w` = ``data.feature_drop_weight`` (:class:`AddCentrality`); one draw per column, shared by all
    nodes.

    Args:
        p: Mean masking rate. (default: ``0.3``)
        threshold: Cap :math:`p_\tau` (the authors' ``0.7``). (default: ``0.7``)
    """

    def __init__(self, p: float = 0.3, threshold: float = 0.7) -> None:
        self.p = check_probability(p, "p", type(self).__name__, ConfigError)
        self.threshold = check_probability(threshold, "threshold", type(self).__name__, ConfigError)

    def forward(self, data: Data) -> Data:
        """Masks feature columns of ``data.x`` (a shallow copy made by ``__call__``)."""
        data = _check_homogeneous(data, type(self).__name__)
        x = getattr(data, "x", None)
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise DataError(f"{type(self).__name__} needs node features 'data.x' of shape [N, F]")
        weights = _weights(data, FEATURE_WEIGHTS, type(self).__name__, x.size(1))
        prob = adaptive_drop_probability(weights, self.p, self.threshold).to(device=x.device, dtype=x.dtype)
        data.x, _ = mask_feature_weighted(x, prob, mode="col")
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, threshold={self.threshold})"
