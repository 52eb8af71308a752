"""Edge-wise dot products without ``E x d`` intermediates — the positive term of graph-contrastive losses whose
positives are the edges of a (sparse) graph, e.g. PamC (`Kulatilleke et al., 2022
<https://arxiv.org/abs/2209.14067>`_) and the exact Graph-MLP/SCGC neighbourhood contrast.

For an edge list :math:`\\{(i_e, j_e)\\}_{e=1}^{E}` and row matrices :math:`X \\in \\mathbb{R}^{N \\times d}`,
:math:`Y \\in \\mathbb{R}^{M \\times d}`,

.. math::
    s_e = \\langle x_{i_e}, y_{j_e} \\rangle,\\qquad
    \\frac{\\partial \\mathcal{L}}{\\partial x_n} = \\sum_{e: i_e = n} g_e\\, y_{j_e},\\qquad
    \\frac{\\partial \\mathcal{L}}{\\partial y_m} = \\sum_{e: j_e = m} g_e\\, x_{i_e},

with :math:`g_e = \\partial \\mathcal{L} / \\partial s_e`. The plain autograd version
``(x[src] * y[dst]).sum(1)`` materialises and keeps two gathered ``E x d`` tensors, their product, and the
same again in the backward pass — several hundred bytes per edge, and on CPU every pass page-faults fresh
``E x d`` buffers, which makes the time grow faster than ``E``. :func:`edge_dot` walks the edges in chunks of
``chunk_size``: the forward keeps only the ``[E]`` result, the backward re-gathers each chunk and accumulates
with ``index_add_``, so the extra memory is ``O(chunk_size · d + E)`` and both passes touch the same small,
cache-resident buffers.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from graphcl.ops.similarity import chunk_bounds
from graphcl.utils.checks import check_positive_int

DEFAULT_EDGE_CHUNK_SIZE = 16384


def _inverse_norms(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """``1 / max(‖x_n‖, eps)`` per row (as :func:`torch.nn.functional.normalize` divides) and the mask of rows
    whose norm exceeds ``eps`` (the others are scaled by the constant ``1/eps``)."""
    norms = torch.linalg.vector_norm(x, dim=1)
    return norms.clamp(min=eps).reciprocal_(), norms > eps


class _EdgeDot(torch.autograd.Function):
    """``s_e = <x[src_e], y[dst_e]>`` chunk by chunk (optionally of the unit rows); backward by chunked
    ``index_add_`` (see the module docstring)."""

    @staticmethod
    def forward(ctx, x: Tensor, y: Tensor, src: Tensor, dst: Tensor, chunk_size: int, eps: float | None) -> Tensor:
        num_edges = src.numel()
        same = x is y
        out = torch.empty(num_edges, dtype=x.dtype, device=x.device)
        inv_x = inv_y = None
        if eps is not None:
            inv_x, unclamped_x = _inverse_norms(x, eps)
            inv_y, unclamped_y = (inv_x, unclamped_x) if same else _inverse_norms(y, eps)
        for start, stop in chunk_bounds(num_edges, chunk_size):
            s, d = src[start:stop], dst[start:stop]
            block = x.index_select(0, s)
            block.mul_(y.index_select(0, d))
            torch.sum(block, 1, out=out[start:stop])
            if eps is not None:
                out[start:stop].mul_(inv_x.index_select(0, s)).mul_(inv_y.index_select(0, d))
        if eps is None:
            ctx.save_for_backward(x, y, src, dst)
        else:
            # the cosines are needed by the backward; the inverse norms are [N] vectors
            ctx.save_for_backward(x, y, src, dst, out, inv_x, inv_y)
            # rows whose norm was clamped to eps are scaled by a constant: no projection term in the gradient
            ctx.unclamped = (unclamped_x, unclamped_y)
        ctx.chunk_size = chunk_size
        ctx.same = same
        ctx.normalize = eps is not None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        saved = ctx.saved_tensors
        x, y, src, dst = saved[:4]
        need_x, need_y = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = torch.zeros_like(x) if need_x else None
        # x and y are one tensor (a self-similarity): one buffer receives both halves; autograd would add them.
        grad_y = grad_x if ctx.same else (torch.zeros_like(y) if need_y else None)
        if ctx.normalize:
            cos, inv_x, inv_y = saved[4:]
            proj_x, proj_y = (m.to(x.dtype) for m in ctx.unclamped)
        for start, stop in chunk_bounds(src.numel(), ctx.chunk_size):
            g = grad[start:stop]
            s, d = src[start:stop], dst[start:stop]
            xs, ys = x.index_select(0, s), y.index_select(0, d)
            if not ctx.normalize:
                if grad_x is not None:
                    grad_x.index_add_(0, s, ys.mul(g.unsqueeze(1)))
                if grad_y is not None:
                    grad_y.index_add_(0, d, xs.mul_(g.unsqueeze(1)))
                continue
            # d cos(x_i, y_j) / d x_i = (ŷ_j - cos · x̂_i) / max(‖x_i‖, eps), x̂_i = x_i / max(‖x_i‖, eps)
            c = cos[start:stop]
            ix, iy = inv_x.index_select(0, s), inv_y.index_select(0, d)
            xs.mul_(ix.unsqueeze(1))
            ys.mul_(iy.unsqueeze(1))
            if grad_x is not None:
                coef = (c * proj_x.index_select(0, s)).neg_().unsqueeze(1)
                grad_x.index_add_(0, s, torch.addcmul(ys, xs, coef).mul_((g * ix).unsqueeze(1)))
            if grad_y is not None:
                coef = (c * proj_y.index_select(0, d)).neg_().unsqueeze(1)
                grad_y.index_add_(0, d, torch.addcmul(xs, ys, coef).mul_((g * iy).unsqueeze(1)))
        if ctx.same:
            return grad_x, None, None, None, None, None
        return grad_x, grad_y, None, None, None, None


def edge_dot(
    x: Tensor,
    y: Tensor,
    edge_index: Tensor,
    chunk_size: int = DEFAULT_EDGE_CHUNK_SIZE,
    *,
    normalize: bool = False,
    eps: float = 1e-12,
) -> Tensor:
    """Dot product of the end points of every edge, ``out[e] = <x[src_e], y[dst_e]>`` — the positive term of
    PamC / Graph-MLP (`Kulatilleke et al., 2022 <https://arxiv.org/abs/2209.14067>`_) without ``E x d`` tensors.

    .. math::
        s_e = \\sum_{k=1}^{d} x_{i_e k}\\, y_{j_e k}
        \\quad\\text{or (normalised)}\\quad
        s_e = \\frac{\\langle x_{i_e}, y_{j_e} \\rangle}{\\max(\\lVert x_{i_e} \\rVert, \\epsilon)\\,
            \\max(\\lVert y_{j_e} \\rVert, \\epsilon)}

    Equal (values and gradients, to rounding) to ``(x[src] * y[dst]).sum(1)``, or with ``normalize=True`` to
    the same on ``F.normalize(x)`` / ``F.normalize(y)`` — without the normalised ``N x d`` copies and their
    backward temporaries (the cosine gradient :math:`(\\hat{y}_j - s_e \\hat{x}_i)/\\lVert x_i \\rVert` is formed
    chunk by chunk). Memory ``O(chunk_size·d + E)`` plus one ``N x d`` gradient buffer, instead of ``O(E·d)``.
    Pass the same tensor as ``x`` and ``y`` for self-similarities; its gradient is then accumulated in one
    buffer. Not twice differentiable.

    Args:
        x: Source rows ``[N, d]``.
        y: Target rows ``[M, d]`` (same dtype, device and ``d`` as ``x``).
        edge_index: ``[2, E]`` int64, ``edge_index[0] < N`` (rows of ``x``), ``edge_index[1] < M`` (rows of ``y``).
        chunk_size: Edges per chunk (default: ``16384``).
        normalize: Return cosine similarities (rows L2-normalised as :func:`torch.nn.functional.normalize`
            does, norms clamped at ``eps``) (default: ``False``).
        eps: Smallest norm used by ``normalize`` (default: ``1e-12``).

    Returns:
        ``[E]`` dot products.

    Raises:
        ValueError: Shapes, dtypes or devices disagree, an index is out of range, or ``chunk_size`` is not a
            positive int.
    """
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < float("inf"):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor) or t.dim() != 2:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a 2-D tensor [rows, d], got {shape}")
    if x.size(1) != y.size(1):
        raise ValueError(f"x and y must have the same feature dimension, got {x.size(1)} and {y.size(1)}")
    if x.dtype != y.dtype or x.device != y.device:
        raise ValueError(f"x and y must share dtype and device, got {x.dtype}/{x.device} and {y.dtype}/{y.device}")
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"edge_index must be a [2, E] tensor, got {shape}")
    if edge_index.dtype != torch.long:
        raise ValueError(f"edge_index must be int64, got {edge_index.dtype}")
    src, dst = edge_index[0].to(x.device), edge_index[1].to(x.device)
    if src.numel():
        for name, idx, rows in (("edge_index[0]", src, x.size(0)), ("edge_index[1]", dst, y.size(0))):
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= rows:
                raise ValueError(f"{name} refers to row {lo if lo < 0 else hi}, outside [0, {rows})")
    return _EdgeDot.apply(x, y, src, dst, chunk_size, float(eps) if normalize else None)
