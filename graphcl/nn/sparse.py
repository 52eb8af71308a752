"""Sparse matrix products for GCN layers — the propagation of `"Semi-Supervised Classification with Graph
Convolutional Networks" <https://arxiv.org/abs/1609.02907>`_ (Kipf & Welling, ICLR 2017) as one CSR product.

A GCN layer computes

.. math::
    H' = \\hat{A} (X W), \\qquad \\hat{A} = \\hat{D}^{-1/2} (A + I) \\hat{D}^{-1/2},

which PyG's message passing evaluates as a gather of ``XW`` along the edges followed by a scatter-add (two
``E x C`` memory passes forward and two backward). With ``Â`` stored once per graph as a CSR matrix the same sum
is one sparse-dense product forward and one with ``Âᵀ`` backward. Bag-of-words node features (Cora: 1.3 % non-zero)
make the first product ``XW`` sparse as well: ``X`` as a CSR matrix costs ``O(nnz(X)·C)`` instead of ``O(N·F·C)``,
and feature masking (zeroed columns) keeps it sparse. Both products are exact: only the order of the floating-point
additions differs from the dense / message-passing computation.
"""
from __future__ import annotations

import warnings
import weakref

import torch
from torch import Tensor

SPARSE_LAYOUTS = (torch.sparse_csr, torch.sparse_coo)


def is_sparse(x: Tensor) -> bool:
    """Whether ``x`` is a torch sparse matrix (CSR or COO layout)."""
    return x.layout in SPARSE_LAYOUTS


def csr_tensor(crow: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int]) -> Tensor:
    """``torch.sparse_csr_tensor`` without the "Sparse CSR tensor support is in beta state" warning (the CSR
    products used here are stable; the warning would otherwise end up in every run's output)."""
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state" (once per process)
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, value, shape, check_invariants=False)


def _compress(row: Tensor, num_rows: int) -> Tensor:
    """CSR row pointer ``[num_rows + 1]`` of entries sorted by ``row``."""
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=row.device)
    torch.cumsum(torch.bincount(row, minlength=num_rows), 0, out=crow[1:])
    return crow


class SparseMatrix:
    """A constant sparse matrix ``M [R, C]`` given by coordinates, with ``M @ D`` differentiable in ``D``.

    The CSR form of ``M`` is built on the first product and that of ``Mᵀ`` on the first backward pass (the
    gradient of ``M @ D`` with respect to ``D`` is ``Mᵀ @ grad``). Entries are sorted by (row, column);
    repeated coordinates are summed by the product, like a scatter-add.

    Args:
        row: ``[nnz]`` row index of every entry.
        col: ``[nnz]`` column index of every entry.
        value: ``[nnz]`` values (constants: no gradient flows to them).
        shape: ``(R, C)``.
        sorted_by_row: The entries are already in (row, column) order (skips one sort).
    """

    def __init__(
        self, row: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int], sorted_by_row: bool = False
    ) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.row, self.col, self.value = row, col, value.detach()
        self._sorted = sorted_by_row
        self._csr: Tensor | None = None
        self._csr_t: Tensor | None = None

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return self.value.numel()

    @classmethod
    def from_dense(cls, x: Tensor) -> SparseMatrix:
        """The non-zero entries of a dense ``[R, C]`` matrix."""
        coo = x.detach().to_sparse()  # coalesced: entries in (row, column) order
        row, col = coo.indices()
        return cls(row, col, coo.values(), tuple(x.shape), sorted_by_row=True)

    @classmethod
    def from_sparse(cls, x: Tensor) -> SparseMatrix:
        """A torch sparse matrix (CSR or COO) as a constant :class:`SparseMatrix`."""
        x = x.detach()
        if x.layout == torch.sparse_csr:
            crow, col = x.crow_indices(), x.col_indices()
            row = torch.repeat_interleave(torch.arange(x.size(0), device=x.device), crow.diff())
            matrix = cls(row, col, x.values(), tuple(x.shape))
        else:
            x = x.coalesce()
            row, col = x.indices()
            matrix = cls(row, col, x.values(), tuple(x.shape), sorted_by_row=True)
        return matrix

    @staticmethod
    def _build(row: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int], is_sorted: bool) -> Tensor:
        if not is_sorted:
            order = torch.argsort(row * shape[1] + col)
            row, col, value = row[order], col[order], value[order]
        return csr_tensor(_compress(row, shape[0]), col, value, shape)

    @property
    def csr(self) -> Tensor:
        """``M`` as a torch CSR tensor."""
        if self._csr is None:
            self._csr = self._build(self.row, self.col, self.value, self.shape, self._sorted)
        return self._csr

    @property
    def csr_t(self) -> Tensor:
        """``Mᵀ`` as a torch CSR tensor."""
        if self._csr_t is None:
            self._csr_t = self._build(self.col, self.row, self.value, (self.shape[1], self.shape[0]), False)
        return self._csr_t

    def matmul(self, dense: Tensor) -> Tensor:
        """``M @ dense`` (``[R, K]``), differentiable with respect to ``dense``."""
        if dense.dim() != 2 or dense.size(0) != self.shape[1]:
            raise ValueError(f"cannot multiply a sparse {self.shape} matrix by a dense {tuple(dense.shape)} one")
        return _SparseDenseProduct.apply(dense, self)


class _SparseDenseProduct(torch.autograd.Function):
    """``M @ D`` for a constant sparse ``M``; the backward pass is ``Mᵀ @ grad``."""

    @staticmethod
    def forward(ctx, dense: Tensor, matrix: SparseMatrix) -> Tensor:  # type: ignore[override]
        ctx.matrix = matrix
        csr = matrix.csr
        return torch.sparse.mm(csr, dense.to(csr.dtype).contiguous())

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        if not ctx.needs_input_grad[0]:
            return None, None
        return torch.sparse.mm(ctx.matrix.csr_t, grad.contiguous()), None


def gcn_propagation_matrix(
    edge_index: Tensor,
    edge_weight: Tensor | None,
    num_nodes: int,
    *,
    improved: bool = False,
    add_self_loops: bool = True,
    flow: str = "source_to_target",
    dtype: torch.dtype | None = None,
) -> SparseMatrix:
    """``Â = D̂^{-1/2}(A + I)D̂^{-1/2}`` as a :class:`SparseMatrix` with ``(Â X)_i = Σ_j Â_ij x_j`` equal to PyG's
    ``GCNConv`` aggregation (normalisation by :func:`torch_geometric.nn.conv.gcn_conv.gcn_norm`, same self-loop
    handling and flow).
    """
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    edge_index, weight = gcn_norm(edge_index, edge_weight, num_nodes, improved, add_self_loops, flow, dtype)
    source, target = (edge_index[0], edge_index[1]) if flow == "source_to_target" else (edge_index[1], edge_index[0])
    return SparseMatrix(target, source, weight, (num_nodes, num_nodes))


class SparseFeatureCache:
    """Remembers the :class:`SparseMatrix` of the last few dense feature matrices seen (by identity and version).

    The clean graph's ``x`` (and a view whose features were not masked) is the same tensor every step; its
    conversion is done once. Holds only weak references to the tensors; least recently used entries go first.

    Args:
        size: Number of feature matrices remembered.
    """

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._entries: list[tuple[weakref.ref, int, SparseMatrix]] = []

    def get(self, x: Tensor) -> SparseMatrix:
        """The :class:`SparseMatrix` of ``x``, converted on a miss."""
        for i, (ref, version, value) in enumerate(self._entries):
            if ref() is x and x._version == version:
                self._entries.append(self._entries.pop(i))
                return value
        value = SparseMatrix.from_dense(x)
        self._entries = [e for e in self._entries if e[0]() is not None][-(self.size - 1):] if self.size > 1 else []
        self._entries.append((weakref.ref(x), x._version, value))
        return value

    def clear(self) -> None:
        self._entries = []


__all__ = ["SparseFeatureCache", "SparseMatrix", "gcn_propagation_matrix", "is_sparse"]
