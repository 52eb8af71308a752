"""Chunked similarity kernels: streaming log-sum-exp over similarity rows and top-k retrieval.

These are the kernels behind every InfoNCE-style loss in the library (GRACE, CSGCL's Team-up, the exact
baseline of PamC, CL4SRec/MCLRec's NT-Xent) and behind nearest-neighbour retrieval (SRA-CL). They never
materialise the full ``N x M`` similarity matrix: rows are processed in chunks of ``chunk_size`` so the
working memory is ``O(chunk_size * M)``.

The central quantity is, for query ``i``,

.. math::
    \\mathrm{lse}_i = \\log \\sum_{j \\notin \\mathcal{E}_i}
        \\exp\\big(s \\cdot \\langle q_i, k_j \\rangle + b_j\\big),

with a scale ``s`` (``1/τ``), an optional per-key bias ``b`` (CSGCL's ``γ·CS_j/τ``) and an optional excluded key
``\\mathcal{E}_i`` per query (the anchor itself when queries and keys are the same set).

Why a fused forward/backward: an InfoNCE loss is a *weighted sum* of the ``lse_i`` (usually a mean). Its gradient
is ``∂/∂q_i = s·w_i·Σ_j p_ij k_j`` and ``∂/∂k_j = s·Σ_i w_i p_ij q_i`` with ``p = softmax`` of the row. Because
the row weights ``w`` are known in the forward pass, both gradients can be accumulated chunk by chunk while the
similarity block is still in memory. That costs three matrix products in total (``QKᵀ``, ``PK``, ``PᵀQ``) — the
matmul bound — instead of four for a recompute-in-backward scheme, and memory stays ``O(chunk·M + (N+M)·d)``.
When the keys are the queries (NT-Xent, GRACE's symmetric form) the similarity is symmetric and a two-pass
block-triangular scheme needs only two matrix-product equivalents (:class:`_SymmetricWeightedLogSumExp`).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from graphcl.utils.checks import check_positive_int

DEFAULT_CHUNK_SIZE = 1024
DEFAULT_CACHE_MB = 128.0
STABILIZERS = ("fixed_shift", "running_max")


def _check_qk(query: Tensor, key: Tensor) -> None:
    if not isinstance(query, Tensor) or not isinstance(key, Tensor):
        raise ValueError(f"query and key must be tensors, got {type(query).__name__} and {type(key).__name__}")
    if query.dim() != 2 or key.dim() != 2:
        raise ValueError(
            f"query and key must be 2-D [num, dim], got shapes {tuple(query.shape)} and {tuple(key.shape)}"
        )
    if query.size(1) != key.size(1):
        raise ValueError(
            f"query and key must have the same feature dimension, got {query.size(1)} and {key.size(1)}"
        )


def _check_bias_exclude(query: Tensor, key: Tensor, bias: Tensor | None, exclude: Tensor | None) -> Tensor | None:
    """Check ``query`` / ``key`` and the optional per-key ``bias [M]`` and per-query ``exclude [N]``; returns
    ``exclude`` as int64 on the queries' device."""
    _check_qk(query, key)
    n, m = query.size(0), key.size(0)
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (m,)):
        shape = tuple(bias.shape) if isinstance(bias, Tensor) else type(bias).__name__
        raise ValueError(f"bias must have shape [{m}] (one value per key), got {shape}")
    if exclude is None:
        return None
    if not isinstance(exclude, Tensor) or exclude.shape != (n,):
        shape = tuple(exclude.shape) if isinstance(exclude, Tensor) else type(exclude).__name__
        raise ValueError(f"exclude must have shape [{n}] (one index per query), got {shape}")
    if exclude.is_floating_point() or exclude.dtype == torch.bool:
        raise ValueError(f"exclude must hold integer key indices (-1 = none), got dtype {exclude.dtype}")
    return exclude.to(device=query.device, dtype=torch.long)


def chunk_bounds(length: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(length)`` in consecutive chunks of at most ``chunk_size``."""
    return [(start, min(start + chunk_size, length)) for start in range(0, length, chunk_size)]


def check_chunk_size(chunk_size: int | None, allow_none: bool = False) -> int | None:
    """Validate a ``chunk_size`` argument (a positive int, or ``None`` where the dense path is allowed)."""
    if chunk_size is None and allow_none:
        return None
    return check_positive_int(chunk_size, "chunk_size")


def check_stabilizer(stabilizer: str) -> str:
    """Validate a ``stabilizer`` argument of :func:`weighted_logsumexp` (``"fixed_shift"`` / ``"running_max"``)."""
    if stabilizer not in STABILIZERS:
        raise ValueError(f"stabilizer must be one of {', '.join(STABILIZERS)}, got {stabilizer!r}")
    return stabilizer


def _bias_and_exclude_(
    block: Tensor, bias: Tensor | None, exclude_chunk: Tensor | None, key_start: int = 0
) -> Tensor:
    """In place: add the keys' ``bias`` and set excluded entries to ``-inf``.

    ``block`` holds the rows of ``exclude_chunk``'s queries against keys ``key_start .. key_start + width``;
    ``bias`` is already sliced to those keys, ``exclude_chunk`` holds global key indices (``-1`` = none).
    """
    if bias is not None:
        block.add_(bias.unsqueeze(0))
    if exclude_chunk is not None:
        local = exclude_chunk - key_start
        rows = torch.nonzero((exclude_chunk >= 0) & (local >= 0) & (local < block.size(1))).squeeze(1)
        block[rows, local[rows]] = float("-inf")
    return block


def _similarity_block(
    query_chunk: Tensor,
    key: Tensor,
    scale: float,
    bias: Tensor | None,
    exclude_chunk: Tensor | None,
) -> Tensor:
    """``scale * q_chunk @ keyᵀ + bias`` with the excluded entries set to ``-inf``."""
    block = torch.mm(query_chunk, key.t())
    if scale != 1.0:
        block.mul_(scale)
    return _bias_and_exclude_(block, bias, exclude_chunk)


def _scale_saved_grads(ctx, grad_out: Tensor, num_inputs: int) -> tuple[Tensor | None, ...]:
    """Backward of the fused Functions: the gradients computed in forward, times the incoming scalar grad."""
    grads = [g * grad_out if has else None for g, has in zip(ctx.saved_tensors, ctx.has)]
    return (*grads, *([None] * (num_inputs - len(grads))))


class _WeightedLogSumExp(torch.autograd.Function):
    """``Σ_i w_i · lse_i`` with gradients accumulated in the forward pass (see module docstring)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        query: Tensor,
        key: Tensor,
        bias: Tensor | None,
        row_weight: Tensor,
        scale: float,
        exclude: Tensor | None,
        chunk_size: int,
    ) -> Tensor:
        need_q, need_k, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        need_any = need_q or need_k or need_b
        grad_q = torch.empty_like(query) if need_q else None
        grad_k = torch.zeros_like(key) if need_k else None
        grad_b = torch.zeros_like(bias) if (need_b and bias is not None) else None
        total = query.new_zeros(())
        for start, stop in chunk_bounds(query.size(0), chunk_size):
            q = query[start:stop]
            block = _similarity_block(q, key, scale, bias, None if exclude is None else exclude[start:stop])
            lse = torch.logsumexp(block, dim=1)
            w = row_weight[start:stop]
            total = total + torch.dot(w, lse)
            if need_any:
                # Softmax of the row times its weight, computed in place to keep one block alive.
                block.sub_(lse.unsqueeze(1)).exp_().mul_(w.unsqueeze(1))
                if grad_q is not None:
                    torch.mm(block, key, out=grad_q[start:stop])
                if grad_k is not None:
                    grad_k.addmm_(block.t(), q)
                if grad_b is not None:
                    grad_b.add_(block.sum(0))
        if grad_q is not None:
            grad_q.mul_(scale)
        if grad_k is not None:
            grad_k.mul_(scale)
        ctx.save_for_backward(
            *(t if t is not None else torch.empty(0) for t in (grad_q, grad_k, grad_b))
        )
        ctx.has = (grad_q is not None, grad_k is not None, grad_b is not None)
        return total

    @staticmethod
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        return _scale_saved_grads(ctx, grad_out, num_inputs=7)


class _SymmetricWeightedLogSumExp(torch.autograd.Function):
    """``Σ_i w_i · lse_i`` when queries and keys are the same rows (NT-Xent / GRACE's intra-view form).

    The raw similarity ``G = s·XXᵀ`` is symmetric, so only the blocks ``(a, b)`` with ``a <= b`` are computed,
    each serving two orientations: rows of ``a`` against keys of ``b`` and rows of ``b`` against keys of ``a``.
    :func:`_symmetric_shifted` (one exponential per entry, sums as matrix-vector products, blocks kept between
    the passes within a memory budget) is used when it applies and ``fixed_shift`` is set;
    :func:`_symmetric_exact` (a running maximum per row) otherwise.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        x: Tensor,
        bias: Tensor | None,
        row_weight: Tensor,
        scale: float,
        exclude: Tensor | None,
        chunk_size: int,
        cache_bytes: int,
        fixed_shift: bool,
    ) -> Tensor:
        need_x, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1] and bias is not None
        args = (x, bias, row_weight, scale, exclude, chunk_size, need_x, need_b)
        result = _symmetric_shifted(*args, cache_bytes=cache_bytes) if fixed_shift else None
        total, grad_x, grad_b = result if result is not None else _symmetric_exact(*args)
        ctx.save_for_backward(*(g if g is not None else torch.empty(0) for g in (grad_x, grad_b)))
        ctx.has = (grad_x is not None, grad_b is not None)
        return total

    @staticmethod
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        return _scale_saved_grads(ctx, grad_out, num_inputs=8)


def _is_involution(exclude: Tensor) -> bool:
    """Whether the excluded pairs are symmetric: ``exclude[exclude[i]] == i`` wherever ``exclude[i] >= 0``."""
    valid = exclude >= 0
    partner = exclude.clamp(min=0)
    index = torch.arange(exclude.numel(), device=exclude.device)
    return bool(((~valid) | (exclude[partner] == index)).all())


def _symmetric_shifted(
    x: Tensor,
    bias: Tensor | None,
    row_weight: Tensor,
    scale: float,
    exclude: Tensor | None,
    chunk_size: int,
    need_x: bool,
    need_b: bool,
    cache_bytes: int = 0,
) -> tuple[Tensor, Tensor | None, Tensor | None] | None:
    """The symmetric weighted log-sum-exp with one fixed shift per entry instead of a running row maximum.

    With ``h_i = |s|·|x_i|²/2``, Cauchy–Schwarz and AM–GM give ``s·⟨x_i, x_j⟩ ≤ h_i + h_j``, so
    ``E_ij = exp(s⟨x_i, x_j⟩ - h_i - h_j) ≤ 1`` is a symmetric matrix that serves both orientations of a block.
    With ``β_j = exp(h_j + b_j - c)``, ``c = max_j (h_j + b_j)``, and ``r_i = Σ_j E_ij β_j`` (excluded pairs
    zeroed), ``lse_i = log r_i + h_i + c``: one exponential per entry and the row sums are matrix-vector
    products. The weighted softmax is ``P_ij = w_i exp(s⟨x_i,x_j⟩ + b_j - lse_i) = α_i E_ij β_j`` with
    ``α = w / r``, so the gradient ``∂/∂x_a = s Σ_b (P_ab + P_baᵀ) x_b`` uses ``T = E ∘ (α_a β_bᵀ + β_a α_bᵀ)``
    for every block pair, and ``∂/∂b_j = Σ_i P_ij``. Blocks computed in the first pass are kept for the second
    as long as they fit in ``cache_bytes`` (the others are recomputed), so the matrix products are at most
    ``½ N²d`` (similarities) + ``N²d`` (gradient) multiply-adds.

    Returns ``None`` — the caller then uses :func:`_symmetric_exact` — where this form does not apply: a dtype
    other than float32 / float64, excluded pairs that are not symmetric, or a row whose shifted sum comes close
    to underflow (logits far below the Cauchy–Schwarz bound, e.g. very unequal norms at a large scale).
    """
    if x.dtype not in (torch.float32, torch.float64):
        return None
    if exclude is not None and not _is_involution(exclude):
        return None
    n = x.size(0)
    bounds = chunk_bounds(n, chunk_size)
    xs = x * scale
    h = (x * x).sum(1).mul_(0.5 * abs(scale))
    log_beta = h if bias is None else h + bias
    c = log_beta.max()
    beta = torch.exp(log_beta - c)
    rows = None if exclude is None else torch.nonzero(exclude >= 0).squeeze(1)

    def block(a: tuple[int, int], b: tuple[int, int]) -> Tensor:
        # E for rows of a against keys of b, excluded pairs set to 0 (symmetric: serves both orientations).
        e = torch.mm(xs[a[0]:a[1]], x[b[0]:b[1]].t())
        e.sub_(h[a[0]:a[1]].unsqueeze(1)).sub_(h[b[0]:b[1]].unsqueeze(0)).exp_()
        if rows is not None:
            keys = exclude[rows]
            hit = rows[(rows >= a[0]) & (rows < a[1]) & (keys >= b[0]) & (keys < b[1])]
            e[hit - a[0], exclude[hit] - b[0]] = 0.0
        return e

    r = torch.zeros(n, dtype=x.dtype, device=x.device)
    kept: dict[tuple[int, int], Tensor] = {}
    budget = cache_bytes if (need_x or need_b) else 0
    for i, a in enumerate(bounds):
        for j in range(i, len(bounds)):
            b = bounds[j]
            e = block(a, b)
            r[a[0]:a[1]] += torch.mv(e, beta[b[0]:b[1]])
            if i != j:
                r[b[0]:b[1]] += torch.mv(e.t(), beta[a[0]:a[1]])
            size = e.numel() * e.element_size()
            if size <= budget:
                kept[(i, j)] = e
                budget -= size
    if not bool((r >= torch.finfo(x.dtype).tiny * 2.0**24).all()):  # (also catches NaN)
        return None
    lse = torch.log(r).add_(h).add_(c)
    total = torch.dot(row_weight, lse)

    grad_x = torch.zeros_like(x) if need_x else None
    grad_b = torch.zeros_like(bias) if need_b else None
    if need_x or need_b:
        alpha = row_weight / r
        for i, a in enumerate(bounds):
            sa = slice(a[0], a[1])
            for j in range(i, len(bounds)):
                b = bounds[j]
                sb = slice(b[0], b[1])
                e = kept.pop((i, j), None)
                if e is None:
                    e = block(a, b)
                if grad_b is not None:
                    grad_b[sb] += beta[sb] * torch.mv(e.t(), alpha[sa])
                    if i != j:
                        grad_b[sa] += beta[sa] * torch.mv(e, alpha[sb])
                if grad_x is not None:
                    # T = E ∘ (α_a β_bᵀ + β_a α_bᵀ): a rank-2 scaling, formed by a k = 2 matrix product.
                    e.mul_(torch.mm(torch.stack([alpha[sa], beta[sa]], 1), torch.stack([beta[sb], alpha[sb]], 0)))
                    grad_x[sa].addmm_(e, x[sb])
                    if i != j:
                        grad_x[sb].addmm_(e.t(), x[sa])
        if grad_x is not None:
            grad_x.mul_(scale)
    return total, grad_x, grad_b


def _symmetric_exact(
    x: Tensor,
    bias: Tensor | None,
    row_weight: Tensor,
    scale: float,
    exclude: Tensor | None,
    chunk_size: int,
    need_x: bool,
    need_b: bool,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """The symmetric weighted log-sum-exp with a running maximum per row (any logits, any exclusions).

    Pass 1 accumulates every row's log-sum-exp from the blocks ``(a, b)``, ``a <= b`` (``G_ab + bias_b`` for rows
    of ``a``, ``G_abᵀ + bias_a`` for rows of ``b``); pass 2 recomputes the blocks and, with ``T = P_a + P_bᵀ``
    (row-softmaxes times row weights), adds ``s·T X_b`` to the gradient of ``X_a`` and ``s·Tᵀ X_a`` to that of
    ``X_b``. Two matmul-equivalents in total instead of three.
    """
    n = x.size(0)
    bounds = chunk_bounds(n, chunk_size)

    def logits(a: tuple[int, int], b: tuple[int, int], raw: Tensor) -> Tensor:
        # Rows of block a against keys of block b, from a raw (a x b) similarity block (modified in place).
        return _bias_and_exclude_(
            raw,
            None if bias is None else bias[b[0]:b[1]],
            None if exclude is None else exclude[a[0]:a[1]],
            key_start=b[0],
        )

    def raw_block(a: tuple[int, int], b: tuple[int, int]) -> Tensor:
        block = torch.mm(x[a[0]:a[1]], x[b[0]:b[1]].t())
        return block.mul_(scale) if scale != 1.0 else block

    lse = torch.full((n,), float("-inf"), dtype=x.dtype, device=x.device)
    for i, a in enumerate(bounds):
        for b in bounds[i:]:
            raw = raw_block(a, b)
            if a != b:
                other = logits(b, a, raw.t().clone())
                lse[b[0]:b[1]] = torch.logaddexp(lse[b[0]:b[1]], torch.logsumexp(other, 1))
            mine = logits(a, b, raw)
            lse[a[0]:a[1]] = torch.logaddexp(lse[a[0]:a[1]], torch.logsumexp(mine, 1))
    total = torch.dot(row_weight, lse)

    grad_x = torch.zeros_like(x) if need_x else None
    grad_b = torch.zeros_like(bias) if need_b else None
    if need_x or need_b:
        for i, a in enumerate(bounds):
            w_a, lse_a = row_weight[a[0]:a[1]].unsqueeze(1), lse[a[0]:a[1]].unsqueeze(1)
            for b in bounds[i:]:
                w_b, lse_b = row_weight[b[0]:b[1]].unsqueeze(1), lse[b[0]:b[1]].unsqueeze(1)
                raw = raw_block(a, b)
                p_b = None
                if a != b:
                    p_b = logits(b, a, raw.t().clone()).sub_(lse_b).exp_().mul_(w_b)
                p_a = logits(a, b, raw).sub_(lse_a).exp_().mul_(w_a)
                if grad_b is not None:
                    grad_b[b[0]:b[1]].add_(p_a.sum(0))
                    if p_b is not None:
                        grad_b[a[0]:a[1]].add_(p_b.sum(0))
                if grad_x is not None:
                    t = p_a if p_b is None else p_a.add_(p_b.t())
                    if a == b:
                        t = t + t.t()
                        grad_x[a[0]:a[1]].addmm_(t, x[a[0]:a[1]])
                    else:
                        grad_x[a[0]:a[1]].addmm_(t, x[b[0]:b[1]])
                        grad_x[b[0]:b[1]].addmm_(t.t(), x[a[0]:a[1]])
        if grad_x is not None:
            grad_x.mul_(scale)
    return total, grad_x, grad_b


def _needs_float32(query: Tensor) -> bool:
    """Whether a chunked kernel must move to float32: half-precision inputs, or autocast on for their device."""
    if query.dtype in (torch.float16, torch.bfloat16):
        return True
    return query.dtype == torch.float32 and torch.is_autocast_enabled(query.device.type)


def weighted_logsumexp(
    query: Tensor,
    key: Tensor,
    *,
    scale: float = 1.0,
    bias: Tensor | None = None,
    exclude: Tensor | None = None,
    row_weight: Tensor | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    cache_mb: float = DEFAULT_CACHE_MB,
    stabilizer: str = "fixed_shift",
) -> Tensor:
    """Weighted sum of row-wise log-sum-exps of a scaled similarity matrix, chunked and differentiable.

    .. math::
        L = \\sum_i w_i \\log \\sum_{j \\ne e_i} \\exp(s\\,\\langle q_i, k_j\\rangle + b_j)

    When ``key is query`` (the same tensor object, as in NT-Xent / GRACE's symmetric intra-view form) the
    symmetry of the similarity is used: only half of the blocks are computed, in two passes, and the blocks of
    the first pass are kept for the second up to ``cache_mb`` (the rest are recomputed), for half to two thirds
    of the matrix products. With ``chunk_size`` set, neither the forward nor the backward pass keeps more than one
    ``chunk_size x M`` block alive (plus, in the symmetric case, at most ``cache_mb`` of kept blocks): gradients
    w.r.t. ``query``, ``key`` and ``bias`` are accumulated while each block is in memory (fused
    forward/backward), so a second ``backward`` through the same graph is not supported (``create_graph`` /
    double backward are not needed by any loss here). ``chunk_size=None`` uses plain dense autograd, which is the
    reference the chunked path is tested against.

    Args:
        query: Queries ``[N, d]``.
        key: Keys ``[M, d]``.
        scale: Multiplier of the dot products (``1/τ``).
        bias: Optional per-key additive bias ``[M]``.
        exclude: Optional ``[N]`` long tensor: key index excluded from row ``i`` (``-1`` = none).
        row_weight: Optional ``[N]`` weights ``w`` (default: all ones). They are treated as constants.
        chunk_size: Rows per chunk; ``None`` for the dense path.
        cache_mb: Memory for similarity blocks kept between the two passes of the symmetric case (``0`` =
            recompute every block); results do not depend on it.
        stabilizer: How the chunked symmetric case keeps its exponentials in range. ``"fixed_shift"``: one shift
            per entry from the Cauchy–Schwarz bound ``s⟨x_i, x_j⟩ ≤ h_i + h_j``, ``h_i = |s|·|x_i|²/2``, so each
            entry costs one exponential and the row sums are matrix-vector products (where that form does not
            apply — other dtypes, non-symmetric exclusions, rows near underflow — the running maximum is used).
            ``"running_max"``: the textbook streaming log-sum-exp with a running maximum per row, always (slower;
            the reference form, and the alternative path of speed comparisons). Results agree to rounding; the
            other cases ignore it. (default: ``"fixed_shift"``)

    Under :func:`torch.autocast`, and for ``bfloat16`` / ``float16`` inputs, both paths compute in float32
    (autocast off inside) and return the result in the query's dtype.

    Returns:
        A scalar tensor.
    """
    exclude = _check_bias_exclude(query, key, bias, exclude)
    check_stabilizer(stabilizer)
    n = query.size(0)
    if row_weight is None:
        row_weight = query.new_ones(n)
    elif row_weight.shape != (n,):
        raise ValueError(f"row_weight must have shape [{n}], got {tuple(row_weight.shape)}")
    row_weight = row_weight.detach().to(query.dtype)

    if chunk_size is not None:
        check_chunk_size(chunk_size)
    if _needs_float32(query):
        # The fused kernels accumulate sums and gradients in place in the input dtype: under autocast their matrix
        # products would come out in bfloat16 / float16 and mix dtypes. Both paths run in float32 with autocast
        # off, and the result is cast back (autograd casts the gradients back to the inputs' dtype).
        with torch.autocast(query.device.type, enabled=False):
            q32 = query.float()
            out = weighted_logsumexp(
                q32, q32 if key is query else key.float(), scale=scale,
                bias=None if bias is None else bias.float(), exclude=exclude, row_weight=row_weight.float(),
                chunk_size=chunk_size, cache_mb=cache_mb, stabilizer=stabilizer,
            )
        return out.to(query.dtype)
    if chunk_size is None:
        # In-place edits of the mm output are safe for autograd: mm's backward needs its inputs, not its output.
        block = _similarity_block(query, key, float(scale), bias, exclude)
        return torch.dot(row_weight, torch.logsumexp(block, dim=1))
    if query is key:
        if not cache_mb >= 0:
            raise ValueError(f"cache_mb must be >= 0, got {cache_mb}")
        cache_bytes = int(cache_mb * 2**20)
        return _SymmetricWeightedLogSumExp.apply(
            query, bias, row_weight, float(scale), exclude, chunk_size, cache_bytes, stabilizer == "fixed_shift"
        )
    return _WeightedLogSumExp.apply(query, key, bias, row_weight, float(scale), exclude, chunk_size)


@torch.no_grad()
def chunked_logsumexp(
    query: Tensor,
    key: Tensor,
    *,
    scale: float = 1.0,
    bias: Tensor | None = None,
    exclude: Tensor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Tensor:
    """Row-wise ``log Σ_j exp(s·⟨q_i,k_j⟩ + b_j)`` for every query, ``[N]``, without gradients.

    Same arguments as :func:`weighted_logsumexp`; use that function when a gradient is needed.
    """
    exclude = _check_bias_exclude(query, key, bias, exclude)
    check_chunk_size(chunk_size)
    if _needs_float32(query):  # see weighted_logsumexp
        with torch.autocast(query.device.type, enabled=False):
            out = chunked_logsumexp(query.float(), key.float(), scale=scale,
                                    bias=None if bias is None else bias.float(), exclude=exclude,
                                    chunk_size=chunk_size)
        return out.to(query.dtype)
    out = query.new_empty(query.size(0))
    for start, stop in chunk_bounds(query.size(0), chunk_size):
        block = _similarity_block(
            query[start:stop], key, scale, bias, None if exclude is None else exclude[start:stop]
        )
        out[start:stop] = torch.logsumexp(block, dim=1)
    return out


def cosine_similarity_matrix(a: Tensor, b: Tensor | None = None, eps: float = 1e-12) -> Tensor:
    """Dense cosine similarity ``[N, M]`` between the rows of ``a`` and ``b`` (``b = a`` when omitted).

    Materialises the full matrix: use it for small inputs and references only.
    """
    a_n = torch.nn.functional.normalize(a, dim=1, eps=eps)
    b_n = a_n if b is None else torch.nn.functional.normalize(b, dim=1, eps=eps)
    return a_n @ b_n.t()


@torch.no_grad()
def topk_similarity(
    query: Tensor,
    key: Tensor,
    k: int,
    *,
    metric: str = "cosine",
    exclude: Tensor | None = None,
    key_mask: Tensor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[Tensor, Tensor]:
    """Exact top-``k`` nearest keys of every query, chunked over queries.

    Args:
        query: ``[N, d]``.
        key: ``[M, d]``.
        k: Neighbours per query (``1 <= k <= M``).
        metric: ``"cosine"`` or ``"dot"``.
        exclude: Optional ``[N]`` long tensor, a key index never returned for that query (e.g. the query itself
            when ``query is key``; ``-1`` = none).
        key_mask: Optional ``[M]`` bool tensor, ``False`` for keys that may never be returned (e.g. padding).
        chunk_size: Queries per chunk; memory is ``O(chunk_size * M)``.

    Returns:
        ``(values, indices)``, both ``[N, k]``, sorted by decreasing similarity; ties are broken towards the
        smaller key index so results are deterministic. Slots that cannot be filled (fewer than ``k`` allowed
        keys) have value ``-inf`` and index ``-1``.
    """
    exclude = _check_bias_exclude(query, key, None, exclude)
    check_chunk_size(chunk_size)
    m = key.size(0)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= m:
        raise ValueError(f"k must be in [1, {m}] (the number of keys), got {k}")
    if metric == "cosine":
        query = torch.nn.functional.normalize(query, dim=1)
        key = torch.nn.functional.normalize(key, dim=1)
    elif metric != "dot":
        raise ValueError(f"metric must be 'cosine' or 'dot', got {metric!r}")
    if key_mask is not None and (not isinstance(key_mask, Tensor) or key_mask.shape != (m,)
                                 or key_mask.dtype != torch.bool):
        got = (tuple(key_mask.shape), key_mask.dtype) if isinstance(key_mask, Tensor) else type(key_mask).__name__
        raise ValueError(f"key_mask must be a bool tensor of shape [{m}], got {got}")
    bias = None
    if key_mask is not None:
        bias = torch.zeros(m, dtype=query.dtype, device=query.device)
        bias[~key_mask.to(query.device)] = float("-inf")
    values = query.new_empty(query.size(0), k)
    indices = torch.empty(query.size(0), k, dtype=torch.long, device=query.device)
    for start, stop in chunk_bounds(query.size(0), chunk_size):
        block = _similarity_block(
            query[start:stop], key, 1.0, bias, None if exclude is None else exclude[start:stop]
        )
        v, i = topk_rows(block, k)
        values[start:stop], indices[start:stop] = v, i
    return values, indices


def topk_rows(scores: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Row-wise top-``k`` of ``scores [R, M]`` with ties broken exactly towards the smaller column index.

    ``torch.topk`` is fast but promises no order among ties; a full stable sort is exact but costs
    ``O(M log M)`` per row (~70x slower for ``M ≈ 10^5``). Here ``torch.topk`` is widened to every column that
    scores at least the ``k``-th value (so all tied candidates are present), and only those candidates are
    ordered by (score descending, index ascending) — the same result as the stable sort.

    Returns:
        ``(values, indices)``, ``[R, k]`` each; slots whose score is ``-inf`` (fewer than ``k`` finite
        scores) get index ``-1``.
    """
    m = scores.size(1)
    threshold = torch.topk(scores, k, dim=1).values[:, -1:]
    reach = int(((scores >= threshold) & torch.isfinite(scores)).sum(1).max()) if scores.numel() else k
    v, i = torch.topk(scores, min(max(reach, k), m), dim=1)
    i, order = torch.sort(i, dim=1)
    v = torch.gather(v, 1, order)
    v, order = torch.sort(v, dim=1, descending=True, stable=True)
    i = torch.gather(i, 1, order)
    v, i = v[:, :k], i[:, :k]
    return v, i.masked_fill(torch.isneginf(v), -1)


def auto_chunk_size(num_keys: int, budget_mb: float = 256.0, dtype: torch.dtype = torch.float32) -> int:
    """Largest chunk of query rows whose ``chunk x num_keys`` block fits in ``budget_mb`` (at least 1)."""
    bytes_per_row = max(1, num_keys) * torch.finfo(dtype).bits // 8
    return max(1, math.floor(budget_mb * 2**20 / bytes_per_row))
