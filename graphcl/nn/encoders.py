"""Graph encoders: a GCN with the activation after every layer, GRACE / CSGCL style.

PyG's :class:`~torch_geometric.nn.models.GCN` applies no activation after its last layer; GRACE
(Zhu et al., 2020) and CSGCL (Chen et al., 2023) apply it after every layer, including the last, and share one
activation instance across layers (which matters for the learnable ``PReLU``). :class:`GCNEncoder` is PyG's
``GCN`` plus that final activation.

By default the layers are evaluated with sparse matrix products (:mod:`graphcl.nn.sparse`): the normalised
adjacency is one CSR matrix per call instead of PyG's gather / scatter message passing, and sparse node features
(bag-of-words) enter the first layer as a CSR matrix. The parameters, the maths and the results (up to the order of
floating-point additions) are PyG's ``GCN``; ``sparse=False`` runs PyG's own forward.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch_geometric.nn import GCNConv
from torch_geometric.nn.models import GCN
from torch_geometric.nn.resolver import activation_resolver

from graphcl.nn.sparse import (
    SparseFeatureCache,
    SparseMatrix,
    csr_tensor,
    gcn_propagation_matrix,
    is_sparse,
)

# CSGCL's code calls ``F.rrelu`` in functional form, whose default ``training=False`` makes it a deterministic
# leaky ReLU with the mean slope of the RReLU range [1/8, 1/3].
RRELU_EVAL_SLOPE = (1.0 / 8.0 + 1.0 / 3.0) / 2.0


class PReLU(nn.PReLU):
    """``nn.PReLU`` (`He et al., 2015 <https://arxiv.org/abs/1502.01852>`_) whose single shared slope is evaluated
    with fused kernels on the CPU.

    .. math::
        \\operatorname{PReLU}(x) = \\max(0, x) + a \\min(0, x),\\qquad
        \\frac{\\partial L}{\\partial a} = \\sum_{x_i < 0} g_i x_i

    Same parameter, values and gradients as ``nn.PReLU``: the forward is ``leaky_relu`` with slope ``a``, the
    input gradient ``leaky_relu``'s backward, the slope gradient one reduction (torch's PReLU backward kernel for
    one shared slope is several times slower on the CPU). Per-channel slopes and other devices use
    ``nn.PReLU``'s own path; the fused path has no double backward.
    """

    def forward(self, input: Tensor) -> Tensor:
        if self.weight.numel() != 1 or input.device.type != "cpu":
            return super().forward(input)
        return _SharedSlopePReLU.apply(input, self.weight)


class _SharedSlopePReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.slope = float(weight)
        ctx.save_for_backward(x)
        return F.leaky_relu(x, ctx.slope)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        grad_x = torch.ops.aten.leaky_relu_backward(grad, x, ctx.slope, False) if ctx.needs_input_grad[0] else None
        grad_w = (grad * x.clamp(max=0)).sum().reshape(1) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


def make_activation(name: str | nn.Module) -> nn.Module:
    """Activation module from a name (``relu``, ``prelu``, ``rrelu``, ``elu``, ``gelu``, ...) or pass-through.

    ``"rrelu"`` is the deterministic leaky ReLU (slope ≈ 0.229) that CSGCL's functional ``F.rrelu`` call
    actually computes; ``"prelu"`` is a single learnable slope (:class:`PReLU`, ``nn.PReLU()`` with a faster CPU
    kernel, init 0.25).
    """
    if isinstance(name, nn.Module):
        return name
    key = name.lower()
    if key == "rrelu":
        return nn.LeakyReLU(RRELU_EVAL_SLOPE)
    if key == "prelu":
        return PReLU()
    try:
        return activation_resolver(key)
    except ValueError as exc:
        raise ValueError(f"unknown activation {name!r}") from exc


class GCNEncoder(nn.Module):
    """Multi-layer GCN with the activation after every layer — the encoder of GRACE (Zhu et al., 2020,
    arXiv:2006.04131) and CSGCL (Chen et al., IJCAI 2023).

    Layers: ``GCNConv(F, 2H) → act → [GCNConv(2H, 2H) → act]* → GCNConv(2H, H) → act`` with one shared
    activation instance, GCN normalisation with self-loops, no caching (the graph changes every step).

    Args:
        in_channels: Input feature size ``F``.
        out_channels: Embedding size ``H``.
        hidden_channels: Width of the inner layers (default: ``2 * out_channels``, as in GRACE).
        num_layers: Number of GCN layers (default: ``2``).
        activation: Activation name or module (default: ``"relu"``).
        dropout: Dropout between layers (default: ``0.0``).
        sparse: Evaluate the layers with sparse products: the propagation ``Â H`` as one CSR matrix product and,
            when ``x`` is a torch sparse matrix or a dense one with at most a fraction ``sparse_feature_density`` of
            non-zero entries, the first layer's ``X W`` as a sparse product (default: ``True``). ``False`` runs PyG's
            message passing; both give the same results up to floating-point rounding. Inputs the sparse path
            does not cover (a ``SparseTensor`` adjacency, edge weights that require a gradient) use PyG's path.
        sparse_feature_density: Largest fraction of non-zero entries of a dense ``x`` for which the first layer
            converts it to a sparse matrix (default: ``0.1``; ``0`` keeps dense features dense).

    Shape:
        - x: ``[N, F]``, dense or a torch sparse (CSR / COO) matrix.
        - output: ``[N, out_channels]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int | None = None,
        num_layers: int = 2,
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
        sparse: bool = True,
        sparse_feature_density: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if hidden_channels is not None and (
            isinstance(hidden_channels, bool) or not isinstance(hidden_channels, int) or hidden_channels < 1
        ):
            raise ValueError(f"hidden_channels must be an int >= 1 or None (2 * out_channels), got {hidden_channels!r}")
        if not 0.0 <= sparse_feature_density <= 1.0:
            raise ValueError(f"sparse_feature_density must be in [0, 1], got {sparse_feature_density}")
        self.sparse = bool(sparse)
        self.sparse_feature_density = float(sparse_feature_density)
        self._feature_cache = SparseFeatureCache()
        self.in_channels = in_channels
        self.out_channels = out_channels
        hidden = hidden_channels if hidden_channels is not None else 2 * out_channels
        self.act = make_activation(activation)
        if num_layers == 1:
            hidden = out_channels
        self.gnn = GCN(in_channels, hidden, num_layers, out_channels=out_channels, dropout=dropout, act=self.act)

    def reset_parameters(self) -> None:
        self.gnn.reset_parameters()
        if isinstance(self.act, nn.PReLU):
            nn.init.constant_(self.act.weight, 0.25)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Node embeddings ``[N, out_channels]``."""
        if self._sparse_path(edge_index, edge_weight):
            return self.act(self._sparse_forward(x, edge_index, edge_weight))
        if isinstance(x, Tensor) and is_sparse(x):
            x = x.to_dense()
        return self.act(self.gnn(x, edge_index, edge_weight=edge_weight))

    @torch.no_grad()
    def inference(
        self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None, chunk_size: int = 65536,
    ) -> Tensor:
        """Layer-wise inference of :meth:`forward` in row chunks (no gradients), for graphs too large for one pass.

        Each layer computes ``H W`` and then ``Â (H W)`` over ``chunk_size`` rows at a time (a row slice of the CSR
        ``Â``), so besides the graph and ``Â`` the memory is two ``[N, width]`` matrices plus one chunk: no
        ``[E, width]`` messages and no whole-graph sparse copy of ``x``. The values equal :meth:`forward` up to
        floating-point rounding (the same sums, in the same order per row). Inputs the sparse path does not cover
        fall back to :meth:`forward`.

        Args:
            x: ``[N, F]`` features (dense or torch sparse).
            edge_index: ``[2, E]`` edges.
            edge_weight: Optional ``[E]`` weights.
            chunk_size: Rows per chunk (default: ``65536``).
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
        if not self._sparse_path(edge_index, edge_weight) or is_sparse(x):
            return self.forward(x, edge_index, edge_weight)
        gnn, num_nodes = self.gnn, x.size(0)
        h = x
        for i, conv in enumerate(gnn.convs):
            adjacency = gcn_propagation_matrix(
                edge_index, edge_weight, num_nodes, improved=conv.improved, add_self_loops=bool(conv.add_self_loops),
                flow=conv.flow, dtype=conv.lin.weight.dtype,
            ).csr
            crow, col, value = adjacency.crow_indices(), adjacency.col_indices(), adjacency.values()
            weight = conv.lin.weight
            product = torch.cat([
                (self._first_product(h[start:start + chunk_size], weight) if i == 0
                 else h[start:start + chunk_size] @ weight.t())
                for start in range(0, num_nodes, chunk_size)
            ]) if num_nodes else h.new_zeros(0, weight.size(0))
            if conv.lin.bias is not None:
                product = product + conv.lin.bias
            out = product.new_empty(num_nodes, product.size(1))
            for start in range(0, num_nodes, chunk_size):
                stop = min(start + chunk_size, num_nodes)
                low, high = int(crow[start]), int(crow[stop])
                rows = csr_tensor(crow[start:stop + 1] - low, col[low:high], value[low:high], (stop - start, num_nodes))
                block = rows @ product
                if conv.bias is not None:
                    block = block + conv.bias
                if i < len(gnn.convs) - 1 and gnn.act is not None:
                    block = gnn.act(block)
                out[start:stop] = block
            h = out
            del product
        return self.act(h)

    def _sparse_path(self, edge_index: Tensor, edge_weight: Tensor | None) -> bool:
        """Whether the sparse evaluation reproduces ``self.gnn`` for these inputs."""
        gnn = self.gnn
        return (
            self.sparse
            and isinstance(edge_index, Tensor)
            and not is_sparse(edge_index)
            and (edge_weight is None or not edge_weight.requires_grad)
            and getattr(gnn, "jk_mode", None) is None
            and not hasattr(gnn, "lin")
            and all(isinstance(norm, nn.Identity) for norm in gnn.norms)
            and all(type(conv) is GCNConv and conv.normalize and not conv.cached for conv in gnn.convs)
            and gnn.convs[0].lin.weight.dtype in (torch.float32, torch.float64)  # the CSR kernels' dtypes
        )

    def _first_product(self, x: Tensor, weight: Tensor) -> Tensor:
        """``x @ weightᵀ`` of the first layer, as a sparse product when ``x`` is sparse (or sparse enough).

        A dense ``x`` is screened on a sample of about 64 rows (more than twice the density threshold: dense)
        and then converted (cached per tensor); the exact non-zero count of the conversion decides.
        """
        if is_sparse(x):
            return SparseMatrix.from_sparse(x).matmul(weight.t())
        density = self.sparse_feature_density
        if not (x.requires_grad or x.dim() != 2 or density == 0 or not x.numel()):
            sample = x[:: max(1, x.size(0) // 64)]
            if int(torch.count_nonzero(sample)) <= 2 * density * sample.numel():
                features = self._feature_cache.get(x)
                if features.nnz <= density * x.numel():
                    return features.matmul(weight.t())
        return x @ weight.t()

    def _sparse_forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None) -> Tensor:
        """PyG's ``BasicGNN.forward`` (no jumping knowledge, no norms) with each ``GCNConv`` as ``Â (H W) + b``."""
        gnn = self.gnn
        num_nodes = x.size(0)
        adjacency: dict[tuple, SparseMatrix] = {}  # one Â per distinct normalisation (usually one per call)
        h = x
        for i, conv in enumerate(gnn.convs):
            key = (conv.improved, bool(conv.add_self_loops), conv.flow, conv.lin.weight.dtype)
            if key not in adjacency:
                adjacency[key] = gcn_propagation_matrix(
                    edge_index, edge_weight, num_nodes, improved=key[0], add_self_loops=key[1], flow=key[2],
                    dtype=key[3],
                )
            h = self._first_product(h, conv.lin.weight) if i == 0 else h @ conv.lin.weight.t()
            if conv.lin.bias is not None:
                h = h + conv.lin.bias
            h = adjacency[key].matmul(h)
            if conv.bias is not None:
                h = h + conv.bias
            if i < len(gnn.convs) - 1:
                if gnn.act is not None:  # the norms are identities, so act_first does not matter
                    h = gnn.act(h)
                h = gnn.dropout(h)
        return h

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_feature_cache"] = SparseFeatureCache()  # weak references cannot be pickled; the cache is rebuilt
        return state

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_layers={self.gnn.num_layers}, act={self.act})"
        )


__all__ = ["RRELU_EVAL_SLOPE", "GCNEncoder", "PReLU", "make_activation"]
