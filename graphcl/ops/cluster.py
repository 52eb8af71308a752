"""Seeded k-means on tensors (Lloyd's algorithm with k-means++ or random seeding), the same code on CPU and GPU.

Used for meta-nodes (PamC), cluster-weighted negatives and prototypes (MEOW) and anywhere a clustering of
embeddings is needed inside training, where round-tripping to scikit-learn would cost a device transfer.
Distances are computed in row chunks, so memory is ``O(chunk_size * k)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from graphcl.ops.segment import segment_sum
from graphcl.ops.similarity import chunk_bounds
from graphcl.utils.checks import check_positive_int


@dataclass
class KMeansResult:
    """Outcome of :func:`kmeans`.

    Attributes:
        labels: ``[N]`` cluster id of every point.
        centroids: ``[k, d]`` cluster centres (unit-norm when ``spherical``).
        inertia: Sum of squared distances to the assigned centre (for spherical k-means: ``Σ (1 - cos)``).
        n_iter: Lloyd iterations of the returned run.
    """

    labels: Tensor
    centroids: Tensor
    inertia: float
    n_iter: int


def _assign(x: Tensor, centroids: Tensor, spherical: bool, chunk_size: int) -> tuple[Tensor, Tensor]:
    """Nearest centroid of every row and the (squared-distance or 1-cos) cost to it."""
    labels = torch.empty(x.size(0), dtype=torch.long, device=x.device)
    cost = torch.empty(x.size(0), dtype=x.dtype, device=x.device)
    c_sq = None if spherical else (centroids * centroids).sum(1)
    for start, stop in chunk_bounds(x.size(0), chunk_size):
        xb = x[start:stop]
        if spherical:
            sim = xb @ centroids.t()
            best, idx = sim.max(1)
            # Rounding can make a cosine exceed 1; a negative cost would break k-means++ sampling.
            cost[start:stop] = (1.0 - best).clamp_(min=0)
        else:
            # ||x - c||² = ||x||² - 2 x·c + ||c||²; the ||x||² term does not change the argmin.
            d = c_sq.unsqueeze(0) - 2.0 * (xb @ centroids.t())
            best, idx = d.min(1)
            cost[start:stop] = (best + (xb * xb).sum(1)).clamp_(min=0)
        labels[start:stop] = idx
    return labels, cost


def _kmeans_pp(x: Tensor, k: int, spherical: bool, generator: torch.Generator, chunk_size: int) -> Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007)."""
    n = x.size(0)
    first = int(torch.randint(n, (1,), generator=generator, device="cpu"))
    centroids = x[first:first + 1].clone()
    _, cost = _assign(x, centroids, spherical, chunk_size)
    for _ in range(1, k):
        total = cost.sum()
        if float(total) <= 0:
            # All remaining points coincide with a centre: pick uniformly among the rest.
            probs = torch.ones(n, dtype=x.dtype)
        else:
            probs = (cost / total).cpu()
        nxt = int(torch.multinomial(probs, 1, generator=generator))
        centroids = torch.cat([centroids, x[nxt:nxt + 1]], 0)
        _, new_cost = _assign(x, centroids[-1:], spherical, chunk_size)
        cost = torch.minimum(cost, new_cost)
    return centroids


#: Initialisations of :func:`kmeans`.
INITS = ("k-means++", "random")


def _random_init(x: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """``k`` distinct rows of ``x`` drawn uniformly (faiss's ``Clustering`` initialisation)."""
    rows = torch.randperm(x.size(0), generator=generator, device="cpu")[:k].to(x.device)
    return x[rows].clone()


def kmeans(
    x: Tensor,
    k: int,
    *,
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-4,
    seed: int = 0,
    spherical: bool = False,
    chunk_size: int = 8192,
    init: str = "k-means++",
) -> KMeansResult:
    """k-means clustering of the rows of ``x`` (Lloyd's algorithm, k-means++ or random initialisation).

    Minimises :math:`\\sum_i \\lVert x_i - \\mu_{c(i)} \\rVert^2` (or, with ``spherical=True``, maximises the cosine
    between L2-normalised rows and unit-norm centres). Empty clusters are re-seeded with the point that is
    currently worst served, so exactly ``k`` non-empty clusters are returned whenever ``x`` has at least ``k``
    distinct rows.

    Args:
        x: ``[N, d]`` points (any device; computation stays there).
        k: Number of clusters, ``1 <= k <= N``.
        n_init: Independent restarts; the run with the lowest inertia is returned.
        max_iter: Maximum Lloyd iterations per run.
        tol: Stop when the largest squared centre shift of an iteration is at most ``tol`` times the mean
            per-feature variance of ``x`` (scikit-learn scales ``tol`` the same way but compares the *sum* of the
            squared shifts over all centres, so this test stops no later than scikit-learn's).
        seed: Seed of a private generator; the global torch RNG is not touched.
        spherical: Cluster by cosine similarity (rows and centres L2-normalised).
        chunk_size: Rows per distance chunk.
        init: ``"k-means++"`` (Arthur & Vassilvitskii, 2007; scikit-learn's default) or ``"random"`` (``k``
            distinct rows drawn uniformly, as faiss's ``Clustering``: no sequential seeding pass, which on CPU costs
            more than the Lloyd iterations when ``k`` is in the hundreds). (default: ``"k-means++"``)

    Returns:
        :class:`KMeansResult`.

    Raises:
        ValueError: ``x`` is not a finite 2-D tensor, ``k`` is not an int in ``[1, N]``, or ``n_init`` /
            ``max_iter`` / ``chunk_size`` / ``tol`` / ``init`` are out of range (the message names the argument).
    """
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must be a 2-D tensor [N, d], got {shape}")
    n = x.size(0)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k must be an int in [1, {n}] (the number of points), got {k!r}")
    n_init = check_positive_int(n_init, "n_init")
    max_iter = check_positive_int(max_iter, "max_iter")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf")
    x = x.detach()
    if not x.is_floating_point():
        x = x.float()
    if spherical:
        x = torch.nn.functional.normalize(x, dim=1)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    # scikit-learn's convention: tolerance relative to the mean per-feature variance.
    tol_abs = tol * float(x.var(0, unbiased=False).mean()) if n > 1 else 0.0

    best: KMeansResult | None = None
    for _ in range(n_init):
        if init == "random":
            centroids = _random_init(x, k, generator)
        else:
            centroids = _kmeans_pp(x, k, spherical, generator, chunk_size)
        n_iter = 0
        for n_iter in range(1, max_iter + 1):  # noqa: B007 - read after the loop
            labels, cost = _assign(x, centroids, spherical, chunk_size)
            counts = torch.bincount(labels, minlength=k)
            sums = segment_sum(x, labels, k)
            new = sums / counts.clamp(min=1).unsqueeze(1).to(x.dtype)
            empty = torch.nonzero(counts == 0).squeeze(1)
            if empty.numel():
                worst = torch.argsort(cost, descending=True)[: empty.numel()]
                new[empty] = x[worst]
            if spherical:
                new = torch.nn.functional.normalize(new, dim=1)
            shift = float(((new - centroids) ** 2).sum(1).max())
            centroids = new
            if shift <= tol_abs and not empty.numel():
                break
        labels, cost = _assign(x, centroids, spherical, chunk_size)
        result = KMeansResult(labels, centroids, float(cost.sum()), n_iter)
        if best is None or result.inertia < best.inertia:
            best = result
    assert best is not None
    return best
