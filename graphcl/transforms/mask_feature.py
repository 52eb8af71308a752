"""Uniform random feature masking, the attribute augmentation of GRACE."""
from __future__ import annotations

from typing import TypeVar

from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import mask_feature

from graphcl.errors import ConfigError, DataError
from graphcl.functional._checks import check_probability
from graphcl.functional.feature_masking import MASK_MODES
from graphcl.transforms._registry import functional_name

GraphT = TypeVar("GraphT", Data, HeteroData)


@functional_name("mask_feature")
class MaskFeature(BaseTransform):
    r"""Masks node features with probability :math:`p` (GRACE's "masking node features").

    From Zhu et al., "Deep Graph Contrastive Representation Learning", 2020
    (`arXiv:2006.04131 <https://arxiv.org/abs/2006.04131>`_): with the default ``mode='col'`` a vector
    :math:`\tilde{m} \in \{0, 1\}^F`, :math:`\tilde{m}_j \sim \mathcal{B}(1 - p)`, is drawn once and shared
    by all nodes,

    .. math::
        \tilde{X} = [x_1 \circ \tilde{m}; \dots; x_N \circ \tilde{m}]

    (masked entries get ``fill_value``). A thin wrapper over :func:`torch_geometric.utils.mask_feature` on
    ``data.x``; ``mode='row'`` masks whole nodes and ``mode='all'`` individual entries. On
    :class:`~torch_geometric.data.HeteroData` every node type that has ``x`` is masked independently.

    Args:
        p: Masking probability, in :math:`[0, 1]`. (default: ``0.5``)
        mode: ``'col'``, ``'row'`` or ``'all'``. (default: ``'col'``)
        fill_value: Value written at masked positions. (default: ``0.``)
    """

    def __init__(self, p: float = 0.5, mode: str = "col", fill_value: float = 0.0) -> None:
        name = type(self).__name__
        self.p = check_probability(p, "p", name, ConfigError)
        if mode not in MASK_MODES:
            raise ConfigError(f"{name}: 'mode' must be one of {MASK_MODES}, got {mode!r}")
        self.mode = mode
        self.fill_value = float(fill_value)

    def forward(self, data: GraphT) -> GraphT:
        """Masks ``x`` of every node store of ``data`` (a shallow copy made by ``__call__``)."""
        stores = [store for store in data.node_stores if "x" in store]
        if not stores:
            raise DataError(f"{type(self).__name__} needs node features 'x', but the graph has none")
        for store in stores:
            x = store.x
            if not isinstance(x, Tensor) or x.dim() != 2:
                where = "data" if store._key is None else f"data[{store._key!r}]"
                shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
                raise DataError(f"{type(self).__name__} needs '{where}.x' of shape [N, F], got {shape}")
            store.x, _ = mask_feature(x, p=self.p, mode=self.mode, fill_value=self.fill_value)
        return data

    def __repr__(self) -> str:
        extra = "" if self.mode == "col" else f", mode={self.mode!r}"
        extra += "" if self.fill_value == 0.0 else f", fill_value={self.fill_value}"
        return f"{type(self).__name__}(p={self.p}{extra})"
