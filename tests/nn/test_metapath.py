"""MEOW's encoder blocks: sparse propagation with a transposed backward, global standardisation, GCN, attention."""
from __future__ import annotations

import torch

from graphcl.nn.metapath import (
    MetaPathGCN,
    NormalizedTanhHead,
    SemanticAttention,
    SparseAdjacency,
    TypeProjection,
    global_standardize,
)


def test_sparse_adjacency_matches_dense_products_and_gradients() -> None:
    gen = torch.Generator().manual_seed(0)
    dense = (torch.rand(7, 5, generator=gen) < 0.4).float() * torch.rand(7, 5, generator=gen)
    op = SparseAdjacency(dense.to_sparse_csr())
    h = torch.randn(5, 3, generator=gen, requires_grad=True)
    (op @ h).pow(2).sum().backward()
    h2 = h.detach().clone().requires_grad_()
    (dense @ h2).pow(2).sum().backward()
    assert torch.allclose(op @ h.detach(), dense @ h.detach(), atol=1e-6)
    assert torch.allclose(h.grad, h2.grad, atol=1e-5)
    assert op.nnz() == int((dense != 0).sum()) and op.shape == (7, 5)


def test_global_standardisation_uses_all_entries() -> None:
    z = torch.randn(10, 4) * 3 + 2
    out = global_standardize(z)
    assert torch.allclose(out, torch.nn.functional.layer_norm(z, z.shape, eps=1e-5), atol=1e-5)
    assert abs(float(out.mean())) < 1e-5 and abs(float(out.var(unbiased=False)) - 1) < 1e-3
    assert not torch.allclose(out.mean(1), torch.zeros(10), atol=1e-3)  # not a per-row norm


def test_gcn_attention_head_and_projection_shapes_and_maths() -> None:
    torch.manual_seed(0)
    n = 8
    adjacency = torch.rand(n, n) * (torch.rand(n, n) < 0.5)
    gcn = MetaPathGCN(6, 4, dropout=0.0).eval()
    h = torch.randn(n, 6)
    z = gcn(h, SparseAdjacency(adjacency.to_sparse_csr()))
    h1 = torch.nn.functional.prelu(adjacency @ gcn.lin1(h), gcn.act.weight)
    assert torch.allclose(z, global_standardize(adjacency @ gcn.lin2(h1)), atol=1e-5)
    attention = SemanticAttention(4, dropout=0.0)
    views = [torch.randn(n, 4) for _ in range(3)]
    fused, beta = attention(views)
    scores = torch.stack([(torch.tanh(attention.fc(v)).mean(0) * attention.query[0]).sum() for v in views])
    assert torch.allclose(beta, torch.softmax(scores, 0), atol=1e-6)
    assert torch.allclose(fused, sum(b * v for b, v in zip(beta, views)), atol=1e-6)
    head = NormalizedTanhHead(4, 3)
    assert torch.allclose(head(fused).norm(dim=1), torch.ones(n), atol=1e-5)
    projection = TypeProjection({"a": 5}, 4, dropout=0.0)
    x = torch.rand(n, 5) * (torch.rand(n, 5) < 0.5)
    assert torch.allclose(projection("a", x), projection("a", x.to_sparse()), atol=1e-6)


def test_sparse_adjacency_is_the_shared_sparse_matrix_and_names_a_shape_mismatch() -> None:
    import pytest

    from graphcl.nn.sparse import SparseMatrix

    gen = torch.Generator().manual_seed(1)
    dense = (torch.rand(6, 4, generator=gen) < 0.5).float() * torch.rand(6, 4, generator=gen)
    coo = torch.sparse_coo_tensor(dense.nonzero().t().repeat(1, 2), dense[dense != 0].repeat(2), (6, 4))
    op = SparseAdjacency(coo)  # uncoalesced COO: repeated coordinates are summed
    assert isinstance(op.operator, SparseMatrix) and op.nnz() == int((dense != 0).sum())
    assert torch.allclose(op.matrix.to_dense(), 2 * dense) and torch.allclose(op.matrix_t.to_dense(), 2 * dense.t())
    moved = op.to("cpu")
    h = torch.randn(4, 3, generator=gen)
    assert moved.shape == (6, 4) and torch.allclose(moved @ h, 2 * dense @ h, atol=1e-6)
    with pytest.raises(ValueError, match=r"sparse \(6, 4\) matrix by a dense \(6, 3\)"):
        op @ torch.randn(6, 3)
