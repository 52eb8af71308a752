"""Edge dropping with a per-edge drop probability (GCA / CSGCL weighted edge removal)."""
from __future__ import annotations

import torch
from torch import Tensor

from graphcl.functional._checks import check_probability_tensor


def drop_edge_weighted(
    edge_index: Tensor,
    p: Tensor,
    force_undirected: bool = False,
    training: bool = True,
) -> tuple[Tensor, Tensor]:
    r"""Drops every edge independently with its own probability, as in GCA and CSGCL.

    Generalises the uniform edge removing of GRACE (`Zhu et al., 2020 <https://arxiv.org/abs/2006.04131>`_,
    :func:`torch_geometric.utils.dropout_edge`) to the adaptive, per-edge probabilities of GCA
    (`Zhu et al., "Graph Contrastive Learning with Adaptive Augmentation", WWW 2021
    <https://arxiv.org/abs/2010.14945>`_) and the community-strength-aware probabilities of CSGCL
    (Chen et al., "CSGCL: Community-Strength-Enhanced Graph Contrastive Learning", IJCAI 2023). Edge
    :math:`e` is kept iff

    .. math::
        u_e \ge p_e, \qquad u_e \sim \mathcal{U}[0, 1),

    so it survives with probability :math:`1 - p_e`; :math:`p_e = 0` always keeps and :math:`p_e = 1` always
    drops.

    With ``force_undirected=True`` one decision is drawn per undirected pair: the edge with
    ``row < col`` represents the pair (its :math:`u_e` and :math:`p_e` are used) and its decision is mirrored
    to the reverse edge ``(col, row)``. Edges whose reverse is absent and self-loops decide alone. Parallel
    copies of a ``row < col`` edge decide independently; their reverse copies follow the first of them. Unlike
    :func:`~torch_geometric.utils.dropout_edge`, the edge order is preserved and the returned mask always
    indexes the *input* edges, so ``edge_attr[mask]`` stays aligned in both modes.

    Args:
        edge_index: Edge indices, ``[2, E]`` integer tensor.
        p: Per-edge drop probabilities, shape ``[E]``, values in :math:`[0, 1]`, on ``edge_index``'s device.
        force_undirected: If ``True``, keep or drop both directions of an undirected edge together.
            (default: ``False``)
        training: If ``False``, this is a no-op returning every edge. (default: ``True``)

    Returns:
        ``(edge_index[:, edge_mask], edge_mask)`` where ``edge_mask`` is a ``[E]`` bool tensor, ``True`` for
        kept edges.

    Raises:
        ValueError: If ``edge_index`` is not ``[2, E]``, ``p`` does not have shape ``[E]``, lies on another
            device, or holds a value outside :math:`[0, 1]`.

    Example:
        >>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> p = torch.tensor([0.0, 1.0, 1.0, 0.0])
        >>> drop_edge_weighted(edge_index, p, force_undirected=True)[1]  # pairs follow their row < col edge
        tensor([ True,  True, False, False])
    """
    owner = "drop_edge_weighted"
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"{owner}: 'edge_index' must have shape [2, E], got {shape}")
    num_edges = edge_index.size(1)
    if not isinstance(p, Tensor) or p.shape != (num_edges,):
        shape = tuple(p.shape) if isinstance(p, Tensor) else type(p).__name__
        raise ValueError(
            f"{owner}: 'p' must have one drop probability per edge, shape ({num_edges},) to match "
            f"'edge_index' of shape {tuple(edge_index.shape)}, got {shape}"
        )
    if p.device != edge_index.device:
        raise ValueError(f"{owner}: 'p' is on {p.device} but 'edge_index' is on {edge_index.device}")
    p = check_probability_tensor(p, "p", owner)

    if not training:
        return edge_index, torch.ones(num_edges, dtype=torch.bool, device=edge_index.device)

    edge_mask = torch.rand(num_edges, dtype=p.dtype, device=p.device) >= p
    if force_undirected and num_edges > 0:
        edge_mask = _mirror_to_reverse_edges(edge_index, edge_mask)
    return edge_index[:, edge_mask], edge_mask


def _mirror_to_reverse_edges(edge_index: Tensor, edge_mask: Tensor) -> Tensor:
    """Copies the decision of every ``row < col`` edge onto its reverse ``(col, row)`` edge, if present."""
    row, col = edge_index.long()  # int64 keys: no overflow for int32 inputs
    # Linear keys over a [n, n] grid; ``n`` only bounds the ids here, it is never used as a node count.
    n = int(edge_index.max()) + 1
    forward = (row < col).nonzero().view(-1)
    backward = (row > col).nonzero().view(-1)
    if forward.numel() == 0 or backward.numel() == 0:
        return edge_mask

    forward_keys = row[forward] * n + col[forward]
    sorted_keys, order = torch.sort(forward_keys, stable=True)  # stable: duplicates follow the first copy
    wanted_keys = col[backward] * n + row[backward]  # key of the reverse of each backward edge
    pos = torch.searchsorted(sorted_keys, wanted_keys).clamp_(max=sorted_keys.numel() - 1)
    found = sorted_keys[pos] == wanted_keys

    edge_mask = edge_mask.clone()
    edge_mask[backward[found]] = edge_mask[forward[order[pos[found]]]]
    return edge_mask
