"""Meta-path views of MEOW (Yu et al., "Heterogeneous Graph Contrastive Learning with Meta-path Contexts and
Adaptively Weighted Negative Samples", arXiv:2212.13847): pruned and normalised meta-path graphs, their masked
copies, the coarse view, and the meta-path context operators — all sparse.

Given the meta-path count graphs :math:`C_m` of a graph loaded by :func:`graphcl.data.heco.load_heco` (or prepared
by :func:`graphcl.data.heco.attach_metapaths`):

- **PathSim top-k** (:func:`pathsim_topk`): :math:`s_{ij} = 2 C_{ij} / (C_{ii} + C_{jj})`; every row keeps its
  :math:`k_m` largest :math:`s_{ij}` with the **raw counts** :math:`C_{ij}` as weights → :math:`\\tilde A_m`.
- **Normalisation** (:func:`metapath_normalize`): :math:`\\mathcal{N}(A) = D^{-1/2} A^\\top D^{-1/2}` with
  :math:`D = \\mathrm{diag}(A \\mathbf{1})` (the reference code's operator; zero-degree rows give zero), or the
  symmetric :math:`\\hat D^{-1/2} \\max(A, A^\\top) \\hat D^{-1/2}` with ``symmetric=True``.
- **Edge masking** (:func:`mask_metapath_edges`): drop :math:`\\lfloor \\rho_m |E| \\rfloor` off-diagonal edges of
  :math:`\\tilde A_m`, binarise, add self-loops: :math:`\\hat A'_m = \\mathcal{N}(\\mathbb{1}[\\tilde A_m^{kept}] + I)`.
- **Feature masking** (:func:`mask_nonzero_features`): zero :math:`\\lfloor \\rho_f \\cdot nnz \\rfloor` random non-zero
  entries of the target features → :math:`X'`.
- **Coarse view**: :math:`\\bar A = \\frac{1}{M} \\sum_m \\hat A_m`.
- **Contexts** (:class:`MetaPathContexts`): for every context position :math:`\\ell` of meta-path :math:`m`, the
  row-stochastic reachability operator :math:`N^{m,\\ell}_{iu} = \\mathbb{1}[u \\in \\mathcal{N}_i^{m,\\ell}] /
  \\max(1, |\\mathcal{N}_i^{m,\\ell}|)`, so :math:`c^{m,\\ell} = N^{m,\\ell} H_{\\tau_\\ell}` is the mean projected
  feature of the reachable intermediate nodes.

Results are stored on the ``HeteroData`` as sparse CSR operators ``adj_t`` (row ``i`` aggregates into node ``i``):
``(t, "<name>_view", t)``, ``(t, "<name>_aug", t)``, ``(t, "coarse", t)``, ``(t, "<name>_ctx<ℓ>", τ_ℓ)`` and the
masked target features ``data[t].x_masked``.

Where this differs from the authors' code, on purpose: ties in PathSim are broken **at random** from the
views' seeded generator (``ties="index"``: lower column index first; ``ties="reference"`` reproduces the
reference's NumPy selection, which depends on how the dataset numbers its nodes) and the node itself is **always
kept** (the reference's ``argsort`` is implementation-defined and
can prune the self-loop in fully tied rows such as ACM-PSP); a node that no instance of a meta-path reaches gets
a unit self-loop in that meta-path's graph (:func:`isolated_self_loops`; the reference leaves its row zero);
everything is sparse (the reference keeps dense
N×N matrices). Masks are sampled **once**, as in the reference, from a private seeded generator.

Nodes without any meta-path neighbour (IMDB-style: a movie without a director has an empty MDM row, and not even
a self-path) keep an empty row: their propagated features in that meta-path's view are zero (so is their
context), the other meta-paths and the masked view's self-loop still carry them, and nothing becomes NaN.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.transforms import BaseTransform

from graphcl.data.heco import MetaPath, metapath_adjacency, metapath_reachability
from graphcl.errors import ConfigError, DataError
from graphcl.functional._checks import check_probability
from graphcl.nn.sparse import csr_tensor

__all__ = [
    "PATHSIM_TIES",
    "REFERENCE_TIES_MAX_NODES",
    "MetaPathContexts",
    "MetaPathViews",
    "isolated_self_loops",
    "mask_metapath_edges",
    "mask_nonzero_features",
    "metapath_normalize",
    "pathsim_topk",
    "sparse_operator",
]


def sparse_operator(edge_index: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    """A coalesced ``torch.sparse_csr`` matrix with ``values`` at ``edge_index`` (duplicates summed)."""
    matrix = torch.sparse_coo_tensor(edge_index, values, shape, check_invariants=False).coalesce()
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state", as in graphcl.nn.sparse
        warnings.simplefilter("ignore", UserWarning)
        return matrix.to_sparse_csr()


#: How :func:`pathsim_topk` orders entries of equal PathSim.
PATHSIM_TIES = ("index", "random", "reference")

#: Most nodes for ``ties="reference"``, which builds the dense ``N × N`` score matrix as the reference code does.
REFERENCE_TIES_MAX_NODES = 30_000


def pathsim_topk(edge_index: Tensor, counts: Tensor, num_nodes: int, k: int | None, *, ties: str = "index",
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """PathSim top-k pruning (Sun et al., VLDB 2011; used by MEOW) of a meta-path count graph.

    .. math::
        s_{ij} = \\frac{2 C_{ij}}{C_{ii} + C_{jj}},\\qquad
        \\tilde A_{ij} = C_{ij}\\,\\mathbb{1}[j \\in \\mathrm{top}_k(s_{i\\cdot})]

    The diagonal entry (``s_ii = 1``) is always kept and counts towards ``k``; rows with fewer than ``k`` entries
    keep them all. Entries of equal PathSim — common: every pair of ACM papers that share their one subject has
    :math:`s_{ij} = 1` — are ordered by ``ties``:

    - ``"index"``: the lower column index first (deterministic, but it ties the kept neighbours to the order in
      which the dataset numbers its nodes);
    - ``"random"``: a uniformly random order from ``generator`` (independent of the numbering);
    - ``"reference"``: exactly the reference code's selection, ``numpy.argsort`` of each dense row reversed
      (the installed NumPy's unstable sort decides among ties; the self-loop is not forced and can be pruned in
      fully tied rows). It needs the dense ``N × N`` scores, so at most :data:`REFERENCE_TIES_MAX_NODES` nodes.

    Args:
        edge_index: ``[2, E]`` non-zeros of :math:`C` (any order).
        counts: ``[E]`` path counts :math:`C_{ij} > 0`.
        num_nodes: :math:`N`.
        k: Entries kept per row; ``None`` keeps everything.
        ties: ``"index"``, ``"random"`` or ``"reference"``, see above. (default: ``"index"``)
        generator: Random source of ``ties="random"`` (``None``: torch's global RNG).

    Returns:
        ``(edge_index, counts)`` of :math:`\\tilde A`, sorted by row, then decreasing PathSim (``"reference"``:
        by row, then column).
    """
    if ties not in PATHSIM_TIES:
        raise ConfigError(f"PathSim ties must be one of {PATHSIM_TIES}, got {ties!r}")
    if k is None:
        return edge_index, counts
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"top-k must be a positive integer or None, got {k!r}")
    if ties == "reference":
        return _reference_topk(edge_index, counts, num_nodes, k)
    row, col = edge_index
    weight = counts.to(torch.float64)
    self_loop = row == col
    diag = torch.zeros(num_nodes, dtype=torch.float64, device=counts.device)
    diag[row[self_loop]] = weight[self_loop]
    denominator = diag[row] + diag[col]
    score = torch.where(denominator > 0, 2.0 * weight / denominator.clamp(min=1e-300),
                        torch.zeros_like(weight))
    score = torch.where(self_loop, torch.full_like(score, float("inf")), score)
    # Three stable sorts = lexicographic order (row asc, score desc, then col asc or a random order).
    if ties == "random":
        order = torch.randperm(col.numel(), generator=generator).to(col.device)
    else:
        order = torch.sort(col, stable=True).indices
    order = order[torch.sort(score[order], descending=True, stable=True).indices]
    order = order[torch.sort(row[order], stable=True).indices]
    sorted_row = row[order]
    row_start = torch.zeros(num_nodes + 1, dtype=torch.long, device=row.device)
    row_start[1:] = torch.cumsum(torch.bincount(sorted_row, minlength=num_nodes), 0)
    rank = torch.arange(order.numel(), device=row.device) - row_start[sorted_row]
    keep = order[rank < k]
    return edge_index[:, keep], counts[keep]


def _reference_topk(edge_index: Tensor, counts: Tensor, num_nodes: int, k: int) -> tuple[Tensor, Tensor]:
    """The reference code's PathSim top-k: ``argsort`` of every dense score row, reversed, first ``k``; entries
    picked where :math:`C_{ij} = 0` carry nothing."""
    if num_nodes > REFERENCE_TIES_MAX_NODES:
        raise ConfigError(f"PathSim ties 'reference' builds the dense {num_nodes} x {num_nodes} score matrix, as the "
                          f"reference code does; at most {REFERENCE_TIES_MAX_NODES} nodes (use 'index' or 'random')")
    row, col = edge_index.cpu().numpy()
    weight = counts.detach().cpu().numpy().astype(np.float64)
    dense = np.zeros((num_nodes, num_nodes))
    np.add.at(dense, (row, col), weight)
    diag = dense.diagonal().copy()
    nz_row, nz_col = dense.nonzero()
    scores = np.zeros_like(dense)
    scores[nz_row, nz_col] = 2 * dense[nz_row, nz_col] / (diag[nz_row] + diag[nz_col])
    picked = np.sort(np.argsort(scores, axis=1)[:, ::-1][:, :k], axis=1)
    rows = np.repeat(np.arange(num_nodes), picked.shape[1])
    cols = picked.ravel()
    kept = dense[rows, cols] != 0
    index = torch.from_numpy(np.stack([rows[kept], cols[kept]])).to(edge_index.device)
    return index, torch.from_numpy(dense[rows[kept], cols[kept]]).to(counts.dtype).to(counts.device)


def isolated_self_loops(edge_index: Tensor, counts: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    r"""A unit self-loop for every node that no instance of the meta-path reaches (an empty row of :math:`C`).

    Without it such a node (an AMiner paper without references for PRP, a Freebase movie without a writer for MWM)
    has a zero row in :math:`\hat A_m`: its clean view of that meta-path is the same constant vector for all of
    them after the GCN's global standardisation. With it the node keeps its own features there, as every other
    node does through :math:`C_{ii} > 0`. A no-op when every row has an entry (ACM and DBLP: none is empty).
    """
    present = torch.zeros(num_nodes, dtype=torch.bool, device=edge_index.device)
    present[edge_index[0]] = True
    missing = torch.nonzero(~present).view(-1)
    if missing.numel() == 0:
        return edge_index, counts
    loops = missing.repeat(2, 1)
    return (torch.cat([edge_index, loops], 1),
            torch.cat([counts, torch.ones(missing.numel(), dtype=counts.dtype, device=counts.device)]))


def metapath_normalize(edge_index: Tensor, weight: Tensor, num_nodes: int, *, symmetric: bool = False) -> Tensor:
    """The propagation operator of MEOW's GCN as a sparse CSR matrix.

    .. math::
        \\mathcal{N}(A) = D^{-1/2} A^\\top D^{-1/2},\\quad D = \\mathrm{diag}(A\\mathbf{1})
        \\qquad\\text{or, with ``symmetric``,}\\qquad
        \\hat D^{-1/2} \\hat A \\hat D^{-1/2},\\quad \\hat A = \\max(A, A^\\top)

    The transpose matters for asymmetric top-k graphs: row ``i`` of :math:`\\mathcal{N}(A)` aggregates from the
    nodes that have ``i`` in *their* top-k (the reference code's operator). Zero-degree rows give zero rows.

    Args:
        edge_index: ``[2, E]`` entries of :math:`A`.
        weight: ``[E]`` non-negative values.
        num_nodes: :math:`N`.
        symmetric: Symmetrise first (the "clean" alternative of spec §7.3). (default: ``False``)

    Returns:
        ``[N, N]`` ``torch.sparse_csr`` float32 matrix.
    """
    weight = weight.to(torch.float32)
    if symmetric:
        both = torch.cat([edge_index, edge_index.flip(0)], 1)
        values = torch.cat([weight, weight])
        key = both[0] * num_nodes + both[1]
        unique, inverse = torch.unique(key, return_inverse=True)
        merged = torch.zeros(unique.numel(), dtype=values.dtype, device=values.device)
        merged = merged.scatter_reduce(0, inverse, values, reduce="amax", include_self=False)
        edge_index = torch.stack([unique // num_nodes, unique % num_nodes])
        weight = merged
    row, col = edge_index
    degree = torch.zeros(num_nodes, dtype=weight.dtype, device=weight.device).index_add_(0, row, weight)
    inv_sqrt = degree.pow(-0.5)
    inv_sqrt[~torch.isfinite(inv_sqrt)] = 0.0
    values = inv_sqrt[row] * weight * inv_sqrt[col]
    # Entry (r, c) of A lands at (c, r) of the result: the transpose.
    return sparse_operator(torch.stack([col, row]), values, (num_nodes, num_nodes))


def mask_metapath_edges(
    edge_index: Tensor, num_nodes: int, p: float, generator: torch.Generator | None = None,
) -> Tensor:
    """MEOW's augmented meta-path graph: drop ``⌊p·|E|⌋`` off-diagonal edges, binarise, add every self-loop.

    Args:
        edge_index: ``[2, E]`` entries of the pruned graph :math:`\\tilde A_m`.
        num_nodes: :math:`N`.
        p: Fraction of off-diagonal edges removed, in ``[0, 1]``.
        generator: Private random generator (CPU).

    Returns:
        ``[2, E']`` edge index of :math:`\\mathbb{1}[\\tilde A^{kept}] + I` (weights are all one).
    """
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"edge mask rate must be in [0, 1], got {p!r}")
    off = edge_index[:, edge_index[0] != edge_index[1]]
    num_drop = int(np.floor(p * off.size(1)))
    perm = torch.randperm(off.size(1), generator=generator).to(off.device)
    kept = off[:, perm[num_drop:]]
    loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
    return torch.cat([kept, loops], 1)


def mask_nonzero_features(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Zeroes ``⌊p·nnz⌋`` uniformly chosen non-zero entries of ``x`` (no renormalisation), as MEOW does once.

    Args:
        x: ``[N, F]`` dense or sparse COO features.
        p: Fraction of the non-zero entries zeroed, in ``[0, 1]``.
        generator: Private random generator (CPU).

    Returns:
        A masked copy of ``x`` (same layout).
    """
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"feature mask rate must be in [0, 1], got {p!r}")
    if x.is_sparse:
        x = x.coalesce()
        values = x.values().clone()
        nonzero = torch.nonzero(values != 0).squeeze(1)
        chosen = nonzero[torch.randperm(nonzero.numel(), generator=generator)[: int(np.floor(p * nonzero.numel()))]]
        values[chosen] = 0
        return torch.sparse_coo_tensor(x.indices(), values, x.shape, check_invariants=False).coalesce()
    masked = x.clone(memory_format=torch.contiguous_format)  # a view of any input's entries (strided inputs too)
    flat = masked.view(-1)
    nonzero = torch.nonzero(flat != 0).squeeze(1)
    perm = torch.randperm(nonzero.numel(), generator=generator).to(nonzero.device)
    flat[nonzero[perm[: int(np.floor(p * nonzero.numel()))]]] = 0
    return masked


def _per_metapath(value: float | Sequence | None, specs: Sequence[MetaPath], name: str) -> list:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return list(value) * len(specs)
        if len(value) != len(specs):
            raise ConfigError(f"{name} has {len(value)} entries but there are {len(specs)} meta-paths "
                              f"({', '.join(spec.name for spec in specs)})")
        return list(value)
    return [value] * len(specs)


def _metapaths(data: HeteroData) -> tuple[str, tuple[MetaPath, ...]]:
    specs = getattr(data, "metapath_specs", None)
    target = getattr(data, "target_type", None)
    if not specs or target is None:
        raise DataError("the graph declares no meta-paths: load it with graphcl.data.load_heco or call "
                        "graphcl.data.heco.attach_metapaths first")
    return target, tuple(specs)


class MetaPathViews(BaseTransform):
    """MEOW's meta-path graphs (Yu et al., arXiv:2212.13847): pruned, normalised, masked, and the coarse view.

    For every declared meta-path :math:`m`:
    :math:`\\hat A_m = \\mathcal{N}(\\mathrm{top}_{k_m}(C_m))`,
    :math:`\\hat A'_m = \\mathcal{N}(\\mathbb{1}[\\mathrm{drop}_{\\rho_m}(\\tilde A_m \\setminus I)] + I)`; plus
    :math:`\\bar A = \\frac1M \\sum_m \\hat A_m` and :math:`X' = \\mathrm{mask}_{\\rho_f}(X_t)`. See the module
    docstring for the operators and the deviations from the reference code.

    Args:
        topk: PathSim top-k per meta-path (one int for all, a list in ``data.metapath_specs`` order — a
            one-element list applies to all — or ``None`` for no pruning).
        edge_mask: Edge drop rate :math:`\\rho_m` per meta-path (float or list, as ``topk``).
        feature_mask: Feature mask rate :math:`\\rho_f`.
        symmetric: Use the symmetric normalisation instead of the reference's transposed one.
        seed: Seed of the private generator of the masks and of random PathSim ties (``None``: drawn from torch's
            global RNG).
        ties: Order of entries of equal PathSim in the top-k, see :func:`pathsim_topk`: ``"random"`` (from the
            seeded generator), ``"index"`` or ``"reference"``. (default: ``"random"``)
    """

    def __init__(
        self,
        topk: int | Sequence[int | None] | None = None,
        edge_mask: float | Sequence[float] = 0.0,
        feature_mask: float = 0.0,
        *,
        symmetric: bool = False,
        seed: int | None = None,
        ties: str = "random",
    ) -> None:
        # Checked here, not first when the views are built: a bad value then surfaced inside the model's forward.
        for k in topk if isinstance(topk, (list, tuple)) else [topk]:
            if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
                raise ConfigError(f"{type(self).__name__}: topk must be a positive int, None or a list of them, "
                                  f"got {topk!r}")
        for rate in edge_mask if isinstance(edge_mask, (list, tuple)) else [edge_mask]:
            check_probability(rate, "edge_mask", type(self).__name__, ConfigError)
        self.topk = topk
        self.edge_mask = edge_mask
        self.feature_mask = check_probability(feature_mask, "feature_mask", type(self).__name__, ConfigError)
        self.symmetric = bool(symmetric)
        self.seed = seed
        if ties not in PATHSIM_TIES:
            raise ConfigError(f"{type(self).__name__}: ties must be one of {PATHSIM_TIES}, got {ties!r}")
        self.ties = ties

    def forward(self, data: HeteroData) -> HeteroData:
        target, specs = _metapaths(data)
        topks = _per_metapath(self.topk, specs, "topk")
        rates = _per_metapath(self.edge_mask, specs, "edge_mask")
        seed = self.seed if self.seed is not None else int(torch.randint(2**62, (1,)))
        generator = torch.Generator().manual_seed(seed)
        n = data[target].num_nodes
        coarse_index, coarse_values = [], []
        for spec, k, rate in zip(specs, topks, rates):
            edge_index, counts = isolated_self_loops(*metapath_adjacency(data, spec), n)
            kept_index, kept_counts = pathsim_topk(edge_index, counts, n, k, ties=self.ties, generator=generator)
            view = metapath_normalize(kept_index, kept_counts, n, symmetric=self.symmetric)
            masked = mask_metapath_edges(kept_index, n, float(rate), generator)
            aug = metapath_normalize(masked, torch.ones(masked.size(1), device=masked.device), n,
                                     symmetric=self.symmetric)
            data[target, f"{spec.name}_view", target].adj_t = view
            data[target, f"{spec.name}_aug", target].adj_t = aug
            coo = view.to_sparse_coo()
            coarse_index.append(coo.indices())
            coarse_values.append(coo.values() / len(specs))
        data[target, "coarse", target].adj_t = sparse_operator(
            torch.cat(coarse_index, 1), torch.cat(coarse_values), (n, n))
        data[target].x_masked = mask_nonzero_features(data[target].x, self.feature_mask, generator)
        return data

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(topk={self.topk}, edge_mask={self.edge_mask}, "
                f"feature_mask={self.feature_mask}, symmetric={self.symmetric}, seed={self.seed}, ties={self.ties!r})")


class MetaPathContexts(BaseTransform):
    """MEOW's meta-path context operators (Yu et al., arXiv:2212.13847): reachable intermediate nodes per position.

    For meta-path :math:`m` and each context position :math:`\\ell` (``MetaPath.context``), stores the
    row-stochastic operator

    .. math::
        N^{m,\\ell} = \\mathrm{diag}\\big(\\max(1, R\\mathbf{1})\\big)^{-1} R,\\qquad
        R = \\mathbb{1}[R_1 R_2 \\cdots R_\\ell > 0]

    as ``data[(t, "<name>_ctx<ℓ>", τ_ℓ)].adj_t`` (``[N_t, N_{τ_ℓ}]`` CSR), so that
    :math:`c^{m,\\ell} = N^{m,\\ell} H_{\\tau_\\ell}` is the mean of the projected features of the reachable nodes.
    A node reaching nothing gets a zero context. The meta-path context is per target node (spec §7.5: a node-level
    reading of the paper's "how two objects are connected").
    """

    def forward(self, data: HeteroData) -> HeteroData:
        target, specs = _metapaths(data)
        for spec in specs:
            for position in spec.context:
                reach = metapath_reachability(data, spec, position).tocsr()
                degree = np.diff(reach.indptr)
                values = (1.0 / np.maximum(degree, 1)).repeat(degree).astype(np.float32)
                operator = csr_tensor(
                    torch.from_numpy(reach.indptr.astype(np.int64)),
                    torch.from_numpy(reach.indices.astype(np.int64)),
                    torch.from_numpy(values), reach.shape,
                )
                data[target, f"{spec.name}_ctx{position}", spec.node_types[position]].adj_t = operator
        return data
