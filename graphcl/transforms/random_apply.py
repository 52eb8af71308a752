"""Applying a transform with a given probability."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch_geometric.transforms import BaseTransform

from graphcl.errors import ConfigError
from graphcl.functional._checks import check_probability


class RandomApply(BaseTransform):
    r"""Applies ``transform`` with probability :math:`p`, otherwise returns the graph unchanged.

    The coin is drawn from torch's global RNG (:func:`torch.rand`), so :func:`torch.manual_seed` /
    :func:`graphcl.utils.seed.seed_everything` make it reproducible. One draw is made per call, also when
    :math:`p \in \{0, 1\}`, so the random stream does not depend on ``p``.

    Args:
        transform: Any callable ``Data -> Data``, typically a :class:`~torch_geometric.transforms.BaseTransform`.
        p: Probability of applying ``transform``, in :math:`[0, 1]`. (default: ``0.5``)

    Example:
        >>> from graphcl.transforms import DropEdge
        >>> augment = RandomApply(DropEdge(p=0.2), p=0.5)
        >>> augment
        RandomApply(DropEdge(p=0.2), p=0.5)
    """

    def __init__(self, transform: Callable[[Any], Any], p: float = 0.5) -> None:
        name = type(self).__name__
        if not callable(transform):
            raise ConfigError(f"{name}: 'transform' must be callable, got {type(transform).__name__}")
        self.transform = transform
        self.p = check_probability(p, "p", name, ConfigError)

    def forward(self, data: Any) -> Any:
        """Returns ``transform(data)`` with probability ``p``, else ``data``."""
        if torch.rand(()).item() < self.p:
            return self.transform(data)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transform!r}, p={self.p})"
