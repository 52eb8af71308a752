"""Argument checks shared by the augmentation functions and transforms (one clear message per mistake)."""
from __future__ import annotations

from numbers import Real

import torch
from torch import Tensor

from graphcl.errors import DataError


def check_probability(
    p: float, name: str = "p", owner: str | None = None, error: type[ValueError] = ValueError
) -> float:
    """Validates a scalar probability and returns it as a ``float``.

    Args:
        p: The value to check; must be a real number in :math:`[0, 1]` (``bool`` is rejected).
        name: Argument name used in the error message. (default: ``"p"``)
        owner: Function / class the argument belongs to, prefixed to the message. (default: ``None``)
        error: The ``ValueError`` subclass to raise, e.g. :class:`graphcl.errors.ConfigError`.
            (default: ``ValueError``)

    Returns:
        ``float(p)``.

    Raises:
        ValueError: (or ``error``) If ``p`` is not a real number in :math:`[0, 1]`.
    """
    where = f"{owner}: " if owner else ""
    if isinstance(p, bool) or not isinstance(p, Real):
        raise error(f"{where}'{name}' must be a number in [0, 1], got {p!r} ({type(p).__name__})")
    value = float(p)
    # ``not 0 <= value <= 1`` is also true for NaN.
    if not 0.0 <= value <= 1.0:
        raise error(f"{where}'{name}' must be in [0, 1], got {value}")
    return value


def check_probability_tensor(p: Tensor, name: str = "p", owner: str | None = None) -> Tensor:
    """Validates a tensor of probabilities and returns it as a floating-point tensor.

    Args:
        p: Tensor whose entries must all lie in :math:`[0, 1]` (NaN is rejected).
        name: Argument name used in the error message. (default: ``"p"``)
        owner: Function the argument belongs to, prefixed to the message. (default: ``None``)

    Returns:
        ``p`` itself when it is already floating point, otherwise ``p`` cast to the default dtype.

    Raises:
        ValueError: If ``p`` is not a tensor or holds a value outside :math:`[0, 1]`.
    """
    where = f"{owner}: " if owner else ""
    if not isinstance(p, Tensor):
        raise ValueError(f"{where}'{name}' must be a torch.Tensor of probabilities, got {type(p).__name__}")
    if not p.is_floating_point():
        p = p.to(torch.get_default_dtype())
    if p.numel() > 0:
        outside = (p < 0) | (p > 1) | torch.isnan(p)
        if bool(outside.any()):
            bad = p[outside][0].item()
            raise ValueError(
                f"{where}'{name}' must hold probabilities in [0, 1]; "
                f"found {int(outside.sum())} value(s) outside it, e.g. {bad}"
            )
    return p


def check_edge_index(edge_index: Tensor, num_nodes: int, owner: str) -> None:
    """``edge_index`` must be a ``[2, E]`` integer tensor whose ids lie in ``[0, num_nodes)`` (else DataError)."""
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise DataError(f"{owner}: 'edge_index' must have shape [2, E], got {shape}")
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise DataError(f"{owner}: 'edge_index' must hold integer node ids, got dtype {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise DataError(f"{owner}: 'edge_index' refers to nodes outside [0, {num_nodes})")
