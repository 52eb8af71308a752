"""Feature masking with per-feature (or per-node / per-entry) mask probabilities (GCA / CSGCL)."""
from __future__ import annotations

import torch
from torch import Tensor

from graphcl.functional._checks import check_probability_tensor

MASK_MODES = ("col", "row", "all")


def mask_feature_weighted(
    x: Tensor,
    p: Tensor,
    mode: str = "col",
    fill_value: float = 0.0,
    training: bool = True,
) -> tuple[Tensor, Tensor]:
    r"""Masks features with individual probabilities, the weighted attribute masking of GCA and CSGCL.

    Generalises the uniform feature masking of GRACE (`Zhu et al., 2020 <https://arxiv.org/abs/2006.04131>`_,
    :func:`torch_geometric.utils.mask_feature`) to the per-dimension probabilities of GCA (`Zhu et al.,
    "Graph Contrastive Learning with Adaptive Augmentation", WWW 2021 <https://arxiv.org/abs/2010.14945>`_)
    and CSGCL (Chen et al., "CSGCL: Community-Strength-Enhanced Graph Contrastive Learning", IJCAI 2023).
    In the default ``mode='col'`` one Bernoulli draw per feature column is shared by all nodes:

    .. math::
        m_j = \mathbb{1}[u_j \ge p_j], \quad u_j \sim \mathcal{U}[0, 1), \qquad
        \tilde{x}_{ij} = \begin{cases} x_{ij} & m_j = 1 \\ \text{fill\_value} & m_j = 0 \end{cases}

    ``mode='row'`` draws one decision per node (``p`` of shape ``[N]``) and ``mode='all'`` one per entry
    (``p`` broadcastable to ``x``'s shape). The mask follows :func:`~torch_geometric.utils.mask_feature`'s
    convention: ``True`` where the feature is *kept*, shape ``[1, F]`` (``'col'``), ``[N, 1]`` (``'row'``)
    or ``[N, F]`` (``'all'``), broadcastable with ``x``. Unlike PyG's no-op, ``training=False`` returns an
    all-``True`` mask of that same per-mode shape.

    Args:
        x: Node feature matrix ``[N, F]``.
        p: Mask (drop) probabilities in :math:`[0, 1]`: ``[F]`` for ``'col'``, ``[N]`` for ``'row'``, anything
            broadcastable to ``[N, F]`` for ``'all'``. Must be on ``x``'s device.
        mode: ``'col'``, ``'row'`` or ``'all'``. (default: ``'col'``)
        fill_value: Value written at masked positions. (default: ``0.``)
        training: If ``False``, this is a no-op. (default: ``True``)

    Returns:
        ``(x_masked, mask)``; ``x`` is never written to: ``x_masked`` is a new tensor, or ``x`` itself when
        ``training=False``.

    Raises:
        ValueError: On an unknown ``mode``, a non-2-D ``x``, a ``p`` whose shape does not fit ``x`` (both
            shapes are named), a device mismatch, or a probability outside :math:`[0, 1]`.

    Example:
        >>> x = torch.ones(2, 3)
        >>> x_masked, mask = mask_feature_weighted(x, torch.tensor([0.0, 1.0, 0.0]))
        >>> x_masked
        tensor([[1., 0., 1.],
                [1., 0., 1.]])
        >>> mask
        tensor([[ True, False,  True]])
    """
    owner = "mask_feature_weighted"
    if mode not in MASK_MODES:
        raise ValueError(f"{owner}: 'mode' must be one of {MASK_MODES}, got {mode!r}")
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{owner}: 'x' must be a [N, F] feature matrix, got shape {shape}")
    if not isinstance(p, Tensor):
        raise ValueError(f"{owner}: 'p' must be a torch.Tensor of probabilities, got {type(p).__name__}")

    num_nodes, num_features = x.shape
    if mode == "col":
        _check_shape(p.shape, (num_features,), x.shape, "one probability per feature column", owner)
        mask_shape: tuple[int, ...] = (1, num_features)
    elif mode == "row":
        _check_shape(p.shape, (num_nodes,), x.shape, "one probability per node (row)", owner)
        mask_shape = (num_nodes, 1)
    else:
        try:
            fits = torch.broadcast_shapes(p.shape, x.shape) == x.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f"{owner}: in mode='all', 'p' must be broadcastable to the shape of 'x' {tuple(x.shape)}, "
                f"got {tuple(p.shape)}"
            )
        mask_shape = tuple(x.shape)
    if p.device != x.device:
        raise ValueError(f"{owner}: 'p' is on {p.device} but 'x' is on {x.device}")
    p = check_probability_tensor(p, "p", owner)

    if not training:
        return x, torch.ones(mask_shape, dtype=torch.bool, device=x.device)

    # 'col' and 'row' draw one decision per column / node; 'all' one per entry, even for a broadcast ``p``.
    draws = torch.rand(mask_shape if mode == "all" else p.shape, dtype=p.dtype, device=p.device)
    mask = (draws >= p).view(mask_shape)
    return x.masked_fill(~mask, fill_value), mask


def _check_shape(
    got: torch.Size, expected: tuple[int, ...], x_shape: torch.Size, what: str, owner: str
) -> None:
    """Raises a ``ValueError`` naming both shapes when ``p``'s shape is not the one its mode needs."""
    if tuple(got) != expected:
        raise ValueError(
            f"{owner}: 'p' must hold {what}, shape {expected} for 'x' of shape {tuple(x_shape)}, "
            f"got {tuple(got)}"
        )
