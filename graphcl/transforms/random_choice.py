"""Applying a random subset of transforms."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch_geometric.transforms import BaseTransform

from graphcl.errors import ConfigError


class RandomChoice(BaseTransform):
    r"""Applies ``num_choices`` transforms drawn at random from ``transforms``, in the order given.

    Transform :math:`i` is drawn with probability proportional to ``weights[i]`` (uniform by default), with
    or without replacement, by :func:`torch.multinomial` on torch's global RNG, so
    :func:`torch.manual_seed` makes the choice reproducible. The chosen transforms are applied in the order
    they appear in ``transforms`` (a transform drawn twice with ``replace=True`` is applied twice in a row).
    Compose the result with :class:`torch_geometric.transforms.Compose` as usual.

    Args:
        transforms: The candidate transforms (callables ``Data -> Data``); at least one.
        num_choices: How many to apply per call; at most ``len(transforms)`` unless ``replace``.
            (default: ``1``)
        replace: Draw with replacement. (default: ``False``)
        weights: Non-negative relative weights, one per transform; ``None`` for uniform. Without
            replacement at least ``num_choices`` of them must be positive. (default: ``None``)
    """

    def __init__(
        self,
        transforms: Sequence[Callable[[Any], Any]],
        num_choices: int = 1,
        replace: bool = False,
        weights: Sequence[float] | None = None,
    ) -> None:
        name = type(self).__name__
        self.transforms = list(transforms)
        if not self.transforms:
            raise ConfigError(f"{name}: 'transforms' must hold at least one transform")
        for i, transform in enumerate(self.transforms):
            if not callable(transform):
                raise ConfigError(f"{name}: transforms[{i}] is not callable ({type(transform).__name__})")
        if isinstance(num_choices, bool) or not isinstance(num_choices, int) or num_choices < 0:
            raise ConfigError(f"{name}: 'num_choices' must be a non-negative int, got {num_choices!r}")
        self.replace = bool(replace)
        if not self.replace and num_choices > len(self.transforms):
            raise ConfigError(
                f"{name}: cannot choose num_choices={num_choices} of {len(self.transforms)} transforms "
                f"without replacement"
            )
        self.num_choices = num_choices
        self.weights = None if weights is None else [float(w) for w in weights]
        if self.weights is not None:
            if len(self.weights) != len(self.transforms):
                raise ConfigError(
                    f"{name}: 'weights' has {len(self.weights)} entries for {len(self.transforms)} transforms"
                )
            if any(not math.isfinite(w) or w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ConfigError(f"{name}: 'weights' must be finite, non-negative, not all zero: {self.weights}")
            positive = sum(w > 0 for w in self.weights)
            if not self.replace and positive < num_choices:
                raise ConfigError(
                    f"{name}: only {positive} transform(s) have a positive weight, fewer than "
                    f"num_choices={num_choices} without replacement"
                )
        self._probs = torch.tensor(
            self.weights if self.weights is not None else [1.0] * len(self.transforms), dtype=torch.float64
        )

    def forward(self, data: Any) -> Any:
        """Applies the drawn transforms to ``data`` one after the other."""
        if self.num_choices == 0:
            return data
        chosen = torch.multinomial(self._probs, self.num_choices, replacement=self.replace)
        for i in chosen.sort().values.tolist():
            data = self.transforms[i](data)
        return data

    def __repr__(self) -> str:
        args = ",\n".join(f"  {transform}" for transform in self.transforms)
        extra = f", num_choices={self.num_choices}"
        extra += ", replace=True" if self.replace else ""
        extra += "" if self.weights is None else f", weights={self.weights}"
        return f"{type(self).__name__}([\n{args}\n]{extra})"
