"""MEOW's meta-path encoder (Yu et al., arXiv:2212.13847): type projections, meta-path contexts, one shared GCN,
semantic attention over the per-meta-path embeddings, and the shared projection head.

Notation (spec §3): :math:`h_v = \\mathrm{ELU}(\\mathrm{Dropout}(W_\\tau x_v + b_\\tau))` per node type;
:math:`u^m_i = \\mathrm{ELU}(h_i + \\sum_\\ell \\mathrm{Dropout}(V^{m,\\ell} c^{m,\\ell}_i))`;
:math:`g^m = \\mathrm{rownorm}(f(U^m, \\hat A_m))`, :math:`g'^m = \\mathrm{rownorm}(f(U'^m, \\hat A'_m))`;
:math:`z^f = \\sum_k \\beta_k g_k` (semantic attention over the 2M views); :math:`z^c = f(H_t, \\bar A)`.

Sparse operators are applied through :class:`SparseAdjacency`, a :class:`~graphcl.nn.sparse.SparseMatrix` (the GCN
encoders' operator) that keeps the transpose so that the backward pass is one more sparse-dense product
(``torch.sparse.mm``'s own backward on CSR is several times slower on CPU).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from graphcl.nn.sparse import SparseMatrix

__all__ = [
    "MetaPathContextEncoder",
    "MetaPathEncoder",
    "MetaPathGCN",
    "MetaPathInputs",
    "NormalizedTanhHead",
    "SemanticAttention",
    "SparseAdjacency",
    "TypeProjection",
    "context_keys",
    "global_standardize",
    "init_linear",
    "LinearInit",
]


class SparseAdjacency:
    """A constant sparse operator :math:`A` for :math:`A H` with a cheap backward (:math:`A^\\top G`).

    A :class:`~graphcl.nn.sparse.SparseMatrix` built from a torch sparse matrix: CSR of :math:`A` for the
    product, CSR of :math:`A^\\top` for the gradient with respect to :math:`H` (no gradient flows to :math:`A`).

    Args:
        matrix: ``[R, C]`` sparse matrix (any torch sparse layout; repeated coordinates are summed).
    """

    def __init__(self, matrix: Tensor) -> None:
        coo = matrix if matrix.layout == torch.sparse_coo else matrix.to_sparse_coo()
        self.operator = SparseMatrix.from_sparse(coo)  # coalesced: entries in (row, column) order
        self.shape = self.operator.shape

    @property
    def matrix(self) -> Tensor:
        """:math:`A` as a torch CSR tensor."""
        return self.operator.csr

    @property
    def matrix_t(self) -> Tensor:
        """:math:`A^\\top` as a torch CSR tensor."""
        return self.operator.csr_t

    def to(self, device: torch.device | str) -> SparseAdjacency:
        """A copy on ``device``."""
        op = self.operator
        moved = object.__new__(SparseAdjacency)
        moved.operator = SparseMatrix(op.row.to(device), op.col.to(device), op.value.to(device), op.shape,
                                      sorted_by_row=True)
        moved.shape = op.shape
        return moved

    def __matmul__(self, dense: Tensor) -> Tensor:
        return self.operator.matmul(dense)

    def nnz(self) -> int:
        """Number of stored entries."""
        return self.operator.nnz


def global_standardize(z: Tensor, eps: float = 1e-5) -> Tensor:
    """:math:`(Z - \\mathrm{mean}(Z)) / \\sqrt{\\mathrm{var}(Z) + \\epsilon}` over **all** entries (no affine).

    The reference code's ``LayerNorm(Z.shape)`` on the whole ``N × d`` output (spec §3.3, quirk 7).
    """
    return (z - z.mean()) / torch.sqrt(z.var(unbiased=False) + eps)


def _sparse_aware_linear(linear: nn.Linear, x: Tensor) -> Tensor:
    if x.is_sparse:
        out = torch.sparse.mm(x, linear.weight.t())
        return out + linear.bias if linear.bias is not None else out
    return linear(x)


#: How the projections, context maps and head of a meta-path encoder are initialised: ``"torch"`` is
#: ``nn.Linear``'s own initialisation (MEOW's and AdaMEOW's reference code), ``"xavier"`` is Xavier-normal with
#: gain 1.414 and zero bias (HeCo's reference code).
LinearInit = Literal["torch", "xavier"]


def init_linear(linear: nn.Linear, init: LinearInit) -> None:
    """Initialise ``linear`` as ``init`` says (see :data:`LinearInit`)."""
    if init == "torch":
        linear.reset_parameters()
    elif init == "xavier":
        nn.init.xavier_normal_(linear.weight, gain=1.414)
        if linear.bias is not None:
            nn.init.zeros_(linear.bias)
    else:
        raise ValueError(f"init must be 'torch' or 'xavier', got {init!r}")


class TypeProjection(nn.Module):
    """Per-type feature projection :math:`h_v = \\mathrm{ELU}(\\mathrm{Dropout}(W_\\tau x_v + b_\\tau))`.

    Args:
        in_channels: Feature dimension per node type.
        hidden_channels: :math:`d_h`.
        dropout: Dropout rate.
        init: Weight initialisation, :data:`LinearInit` (default: ``"xavier"``, HeCo's).
    """

    def __init__(self, in_channels: Mapping[str, int], hidden_channels: int, dropout: float,
                 init: LinearInit = "xavier") -> None:
        super().__init__()
        self.linears = nn.ModuleDict({t: nn.Linear(d, hidden_channels) for t, d in in_channels.items()})
        self.dropout = nn.Dropout(dropout)
        self.init = init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for linear in self.linears.values():
            init_linear(linear, self.init)

    def forward(self, node_type: str, x: Tensor) -> Tensor:
        """``[N_τ, F_τ]`` (dense or sparse COO) → ``[N_τ, d_h]``."""
        return F.elu(self.dropout(_sparse_aware_linear(self.linears[node_type], x)))


class MetaPathContextEncoder(nn.Module):
    """Meta-path contexts: :math:`u_i = \\mathrm{ELU}(h_i + \\sum_\\ell \\mathrm{Dropout}(V^{m,\\ell} c^{m,\\ell}_i))`.

    One bias-free :math:`d_h \\times d_h` map per (meta-path, position); the mean contexts
    :math:`c^{m,\\ell}` are computed by the caller (``N^{m,ℓ} H_{τ_ℓ}``) and passed in.

    Args:
        keys: ``"<metapath>_ctx<ℓ>"`` names, one per (meta-path, position).
        hidden_channels: :math:`d_h`.
        dropout: Dropout on each context term.
        init: Weight initialisation, :data:`LinearInit` (default: ``"torch"``, MEOW's).
    """

    def __init__(self, keys: Sequence[str], hidden_channels: int, dropout: float,
                 init: LinearInit = "torch") -> None:
        super().__init__()
        self.maps = nn.ModuleDict({key: nn.Linear(hidden_channels, hidden_channels, bias=False) for key in keys})
        self.dropout = nn.Dropout(dropout)
        self.init = init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for linear in self.maps.values():
            init_linear(linear, self.init)

    def forward(self, h: Tensor, contexts: Mapping[str, Tensor]) -> Tensor:
        """``h`` ``[N, d_h]`` plus ``{key: c [N, d_h]}`` (only this meta-path's keys) → ``[N, d_h]``."""
        out = h
        for key, context in contexts.items():
            out = out + self.dropout(self.maps[key](context))
        return F.elu(out)


class MetaPathGCN(nn.Module):
    """MEOW's shared 2-layer GCN (Yu et al., arXiv:2212.13847) with dropout before propagation and global
    standardisation.

    .. math::
        H_1 = \\mathrm{PReLU}(\\hat A\\,\\mathrm{Dropout}(H W_1)),\\quad
        Z = \\hat A\\,\\mathrm{Dropout}(H_1 W_2),\\quad
        f(H, \\hat A) = \\frac{Z - \\mathrm{mean}(Z)}{\\sqrt{\\mathrm{var}(Z) + 10^{-5}}}

    Args:
        in_channels: :math:`d_h`.
        out_channels: :math:`d`.
        dropout: Dropout on the transformed features (before each propagation).
    """

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.lin1 = nn.Linear(in_channels, out_channels, bias=False)
        self.lin2 = nn.Linear(out_channels, out_channels, bias=False)
        self.act = nn.PReLU(init=0.25)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for linear in (self.lin1, self.lin2):
            bound = 1.0 / math.sqrt(linear.out_features)
            nn.init.uniform_(linear.weight, -bound, bound)
        nn.init.constant_(self.act.weight, 0.25)

    def forward(self, h: Tensor, adjacency: SparseAdjacency) -> Tensor:
        """``[N, d_h]`` and an ``[N, N]`` operator → standardised ``[N, d]``."""
        h1 = self.act(adjacency @ self.dropout(self.lin1(h)))
        return global_standardize(adjacency @ self.dropout(self.lin2(h1)))


class SemanticAttention(nn.Module):
    """HAN's semantic attention (Wang et al., WWW 2019) over view embeddings, as used by MEOW.

    .. math::
        w_k = \\tilde q^\\top \\frac{1}{N}\\sum_i \\tanh(W_a g_{k,i} + b_a),\\quad
        \\beta = \\mathrm{softmax}(w),\\quad z = \\sum_k \\beta_k g_k

    with :math:`\\tilde q` the attention vector after dropout.

    Args:
        channels: :math:`d`.
        dropout: Dropout on :math:`q`.
    """

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)
        self.query = nn.Parameter(torch.empty(1, channels))
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.fc.weight, gain=1.414)
        nn.init.zeros_(self.fc.bias)
        nn.init.xavier_normal_(self.query, gain=1.414)

    def forward(self, views: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``K`` views ``[N, d]`` → fused ``[N, d]`` and the weights ``β`` ``[K]``."""
        stacked = torch.stack(list(views))  # [K, N, d]
        summary = torch.tanh(self.fc(stacked)).mean(1)  # [K, d]
        beta = torch.softmax(summary @ self.dropout(self.query).squeeze(0), dim=0)
        return torch.einsum("k,knd->nd", beta, stacked), beta


class NormalizedTanhHead(nn.Module):
    """MEOW's projection head :math:`p(z) = \\mathrm{rownorm}(\\tanh(W_p z + b_p))`, shared by both views.

    Args:
        in_channels: :math:`d`.
        out_channels: :math:`d_p`.
        init: Weight initialisation, :data:`LinearInit` (default: ``"torch"``, MEOW's).
    """

    def __init__(self, in_channels: int, out_channels: int, init: LinearInit = "torch") -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)
        self.init = init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_linear(self.fc, self.init)

    def forward(self, z: Tensor) -> Tensor:
        return F.normalize(torch.tanh(self.fc(z)), dim=1)


@dataclass
class MetaPathInputs:
    """The prepared tensors of one heterogeneous graph (what :class:`MetaPathEncoder` consumes).

    Built by :meth:`from_data` from a ``HeteroData`` that went through
    :class:`~graphcl.transforms.metapath.MetaPathViews` and :class:`~graphcl.transforms.metapath.MetaPathContexts`.

    Attributes:
        target: Target node type.
        metapaths: Meta-path names, in order.
        x: Features per node type (the target and every context type).
        x_masked: Masked target features :math:`X'`.
        views: :math:`\\hat A_m` per meta-path.
        augmented: :math:`\\hat A'_m` per meta-path.
        coarse: :math:`\\bar A`.
        contexts: Per meta-path, ``{key: (operator N^{m,ℓ}, node type τ_ℓ)}``.
    """

    target: str
    metapaths: list[str]
    x: dict[str, Tensor]
    x_masked: Tensor
    views: list[SparseAdjacency]
    augmented: list[SparseAdjacency]
    coarse: SparseAdjacency
    contexts: list[dict[str, tuple[SparseAdjacency, str]]]

    @classmethod
    def from_data(cls, data: HeteroData) -> MetaPathInputs:
        target = data.target_type
        names = [spec.name for spec in data.metapath_specs]
        contexts: list[dict[str, tuple[SparseAdjacency, str]]] = []
        types = {target}
        for spec in data.metapath_specs:
            entry = {}
            for position in spec.context:
                key = f"{spec.name}_ctx{position}"
                node_type = spec.node_types[position]
                entry[key] = (SparseAdjacency(data[target, key, node_type].adj_t), node_type)
                types.add(node_type)
            contexts.append(entry)
        return cls(
            target=target,
            metapaths=names,
            # Sorted: the encoder projects (with dropout) in this order, so a set's hash order would change the
            # random stream, and the results, from one process to the next.
            x={t: data[t].x for t in sorted(types)},
            x_masked=data[target].x_masked,
            views=[SparseAdjacency(data[target, f"{name}_view", target].adj_t) for name in names],
            augmented=[SparseAdjacency(data[target, f"{name}_aug", target].adj_t) for name in names],
            coarse=SparseAdjacency(data[target, "coarse", target].adj_t),
            contexts=contexts,
        )


def context_keys(data: HeteroData) -> list[list[str]]:
    """``[["<metapath>_ctx<ℓ>", ...] per meta-path]`` of a graph with declared meta-paths."""
    return [[f"{spec.name}_ctx{p}" for p in spec.context] for spec in data.metapath_specs]


class MetaPathEncoder(nn.Module):
    """MEOW's full encoder (Yu et al., arXiv:2212.13847): both views from one set of weights.

    .. math::
        z^c = f(H_t, \\bar A),\\qquad
        z^f = \\mathrm{SemAtt}\\big([g^1, g'^1, \\dots, g^M, g'^M]\\big),\\quad
        g^m = \\mathrm{rownorm}(f(U^m, \\hat A_m)),\\ g'^m = \\mathrm{rownorm}(f(U'^m, \\hat A'_m))

    The context term of the masked branch reuses the clean context means with freshly sampled dropout, and the
    masked target features go through the type projection with its dropout (both as the reference's ACM / IMDB /
    AMiner branch; its DBLP branch reuses the dropped-out context term and skips the projection dropout of the
    masked features — one behaviour is kept for all datasets).

    Args:
        in_channels: Feature dimension per node type (target and context types).
        context_keys: Context keys per meta-path (:func:`context_keys`).
        hidden_channels: :math:`d_h`.
        out_channels: :math:`d`.
        dropout: One rate for the projections, contexts, GCN and attention (as in the reference).
        init: Initialisation of the type projections and context maps, :data:`LinearInit` (default:
            ``"torch"``: ``nn.Linear``'s own, as the MEOW reference; the GCN and the attention keep theirs).
    """

    def __init__(self, in_channels: Mapping[str, int], context_keys: Sequence[Sequence[str]],
                 hidden_channels: int = 64, out_channels: int = 64, dropout: float = 0.2,
                 init: LinearInit = "torch") -> None:
        super().__init__()
        self.projection = TypeProjection(in_channels, hidden_channels, dropout, init)
        self.context = MetaPathContextEncoder([k for keys in context_keys for k in keys], hidden_channels, dropout,
                                              init)
        self.gcn = MetaPathGCN(hidden_channels, out_channels, dropout)
        self.attention = SemanticAttention(out_channels, dropout)
        self.num_metapaths = len(context_keys)

    def reset_parameters(self) -> None:
        for module in (self.projection, self.context, self.gcn, self.attention):
            module.reset_parameters()

    def forward(self, inputs: MetaPathInputs) -> dict[str, Tensor]:
        """Returns ``coarse`` (:math:`z^c`), ``fine`` (:math:`z^f`) ``[N, d]`` and ``attention`` (β, ``[2M]``)."""
        h = {t: self.projection(t, x) for t, x in inputs.x.items()}
        h_target = h[inputs.target]
        h_masked = self.projection(inputs.target, inputs.x_masked)
        fine_views = []
        for m, contexts in enumerate(inputs.contexts):
            means = {key: operator @ h[node_type] for key, (operator, node_type) in contexts.items()}
            u = self.context(h_target, means)
            u_masked = self.context(h_masked, means)
            fine_views.append(F.normalize(self.gcn(u, inputs.views[m]), dim=1))
            fine_views.append(F.normalize(self.gcn(u_masked, inputs.augmented[m]), dim=1))
        fine, beta = self.attention(fine_views)
        coarse = self.gcn(h_target, inputs.coarse)
        return {"coarse": coarse, "fine": fine, "attention": beta}
