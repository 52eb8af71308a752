"""Exact Ncontrast loss (SCGC*) against a naive dense reference written from the formula."""
from __future__ import annotations

import pytest
import torch

from graphcl.losses import NContrastLoss, ncontrast_loss


def naive_ncontrast(z, edge_index, edge_weight, tau, self_similarity="zero"):
    """-mean_i log(Σ_j Â_ij e^{τ s̃_ij} / Σ_j e^{τ s̃_ij}) with dense matrices and a Python-level formula."""
    n = z.size(0)
    zn = z / z.norm(dim=1, keepdim=True)
    sim = zn @ zn.t()
    sim = sim * (1 - torch.eye(n, dtype=z.dtype))  # s̃_ii = 0
    adj = torch.zeros(n, n, dtype=z.dtype).index_put((edge_index[0], edge_index[1]), edge_weight, accumulate=True)
    e = torch.exp(tau * sim)
    pos = (adj * e).sum(1)
    if self_similarity == "zero":
        all_ = e.sum(1)
    else:
        all_ = (e * (1 - torch.eye(n, dtype=z.dtype))).sum(1)
    keep = adj.sum(1) > 0
    return -torch.log(pos[keep] / all_[keep]).mean()


def random_graph(n, e, seed, self_loops=True):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    if self_loops:
        ei = torch.cat([ei, torch.arange(n).repeat(2, 1)], 1)
    w = torch.rand(ei.size(1), generator=g, dtype=torch.float64) + 0.1
    return ei, w


@pytest.mark.parametrize("n,d,e", [(5, 3, 8), (40, 8, 120), (130, 16, 400)])
@pytest.mark.parametrize("self_similarity", ["zero", "exclude"])
@pytest.mark.parametrize("chunk_size", [None, 7, 1024])
def test_matches_naive_reference_loss_and_gradient(n, d, e, self_similarity, chunk_size):
    torch.manual_seed(n)
    z = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    ei, w = random_graph(n, e, seed=d)
    tau = 0.75
    ref = naive_ncontrast(z, ei, w, tau, self_similarity)
    (g_ref,) = torch.autograd.grad(ref, z)
    out = ncontrast_loss(z, ei, w, tau=tau, self_similarity=self_similarity, chunk_size=chunk_size)
    (g_out,) = torch.autograd.grad(out, z)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(g_out, g_ref, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("tau", [2.25, 120.0, 500.0])
def test_large_tau_does_not_underflow_in_float32(tau):
    """A row whose only positive is its self-loop (cosine set to 0) has log pos = log w, whatever τ: a shift by
    the largest possible cosine (1) made it log(w e^{-τ}) = log 0 = -inf in float32 for τ above about 100."""
    from graphcl.losses.ncontrast import positive_log_terms

    torch.manual_seed(0)
    z = torch.randn(12, 4)
    ei, w = random_graph(12, 20, seed=3)
    ei = torch.cat([ei, torch.arange(12, 15).repeat(2, 1)], 1)  # nodes 12-14: a lone self-loop
    z = torch.cat([z, torch.randn(3, 4)])
    w = torch.cat([w, torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)])
    log_pos, has = positive_log_terms(z, ei, w.float(), tau)
    assert has.all() and torch.isfinite(log_pos).all()
    torch.testing.assert_close(log_pos[12:], torch.log(w[-3:]).float())
    z = z.requires_grad_()
    out = ncontrast_loss(z, ei, w.float(), tau=tau, chunk_size=None)
    (g,) = torch.autograd.grad(out, z)
    assert torch.isfinite(out) and torch.isfinite(g).all()
    ref = naive_ncontrast(z.detach().double(), ei, w, tau)
    torch.testing.assert_close(out.double(), ref, atol=1e-4, rtol=1e-5)


def test_nodes_without_positives_are_left_out():
    torch.manual_seed(0)
    z = torch.randn(10, 4, dtype=torch.float64)
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    w = torch.ones(3, dtype=torch.float64)
    out = ncontrast_loss(z, ei, w, tau=1.0)
    assert torch.isfinite(out)
    torch.testing.assert_close(out, naive_ncontrast(z, ei, w, 1.0))


def test_module_and_bad_input():
    loss = NContrastLoss(tau=0.5)
    z = torch.randn(6, 3)
    ei = torch.arange(6).repeat(2, 1)
    assert torch.isfinite(loss(z, ei))
    with pytest.raises(ValueError, match="tau"):
        NContrastLoss(tau=0.0)
    with pytest.raises(ValueError, match="self_similarity"):
        NContrastLoss(self_similarity="one")
    with pytest.raises(ValueError, match="no edges"):
        loss(z, torch.empty(2, 0, dtype=torch.long))
    bad = z.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        loss(bad, ei)
    with pytest.raises(ValueError, match="outside"):
        loss(z, torch.tensor([[0], [6]]))
