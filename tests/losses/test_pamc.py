"""PamC meta-node loss: exact reduction at K = N, sparse vs dense positives, empty clusters, isolated nodes,
the size-weighted form's error on a mixture, the GRACE two-view drop-in, and bad input."""
from __future__ import annotations

import pytest
import torch

from graphcl.losses import (
    PamCLoss,
    grace_info_nce,
    meta_node_info_nce,
    ncontrast_loss,
    pamc_loss,
)
from graphcl.ops import kmeans


def graph(n, e, seed):
    g = torch.Generator().manual_seed(seed)
    ei = torch.cat([torch.randint(0, n, (2, e), generator=g), torch.arange(n).repeat(2, 1)], 1)
    return ei, torch.rand(ei.size(1), generator=g, dtype=torch.float64) + 0.1


def naive_uniform(z, labels, k, ei, w, tau):
    """The authors' NcontrastCC written densely: dense Â times exp(τ cos) for positives, one-hot meta-nodes."""
    n = z.size(0)
    zn = z / z.norm(dim=1, keepdim=True)
    sim = (zn @ zn.t()) * (1 - torch.eye(n, dtype=z.dtype))
    adj = torch.zeros(n, n, dtype=z.dtype).index_put((ei[0], ei[1]), w, accumulate=True)
    pos = (adj * torch.exp(tau * sim)).sum(1)
    onehot = torch.nn.functional.one_hot(labels, k).to(z.dtype)
    m = onehot.t() @ z
    m = m[onehot.sum(0) > 0]
    mn = m / m.norm(dim=1, keepdim=True)
    sm = (mn @ mn.t()) * (1 - torch.eye(len(m), dtype=z.dtype))
    neg = torch.exp(tau * sm).sum(1)
    return -torch.log(pos).mean() + torch.log(neg).mean()


@pytest.mark.parametrize("n,d", [(12, 3), (80, 10), (200, 16)])
@pytest.mark.parametrize("weighting", ["uniform", "size"])
@pytest.mark.parametrize("self_similarity", ["zero", "exclude"])
def test_identity_assignment_equals_exact_loss_and_gradient(n, d, weighting, self_similarity):
    torch.manual_seed(d)
    z = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    ei, w = graph(n, 4 * n, seed=n)
    exact = ncontrast_loss(z, ei, w, tau=0.8, self_similarity=self_similarity, chunk_size=None)
    (g_exact,) = torch.autograd.grad(exact, z)
    approx = pamc_loss(z, ei, torch.arange(n), w, tau=0.8, weighting=weighting, self_similarity=self_similarity)
    (g_approx,) = torch.autograd.grad(approx, z)
    torch.testing.assert_close(approx, exact, atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(g_approx, g_exact, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("n,k", [(30, 3), (90, 7), (150, 20)])
def test_sparse_positives_match_dense_reference(n, k):
    torch.manual_seed(k)
    z = torch.randn(n, 6, dtype=torch.float64, requires_grad=True)
    ei, w = graph(n, 3 * n, seed=k)
    labels = torch.randint(0, k, (n,))
    ref = naive_uniform(z, labels, k, ei, w, tau=1.3)
    (g_ref,) = torch.autograd.grad(ref, z)
    out = PamCLoss(tau=1.3)(z, ei, labels, w)
    (g_out,) = torch.autograd.grad(out, z)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(g_out, g_ref)


def test_soft_assignment_is_argmaxed_and_detached():
    torch.manual_seed(0)
    z = torch.randn(40, 5, dtype=torch.float64)
    q = torch.softmax(torch.randn(40, 4, dtype=torch.float64), 1).requires_grad_()
    ei, w = graph(40, 100, 1)
    out = pamc_loss(z, ei, q, w, tau=0.5)
    torch.testing.assert_close(out, pamc_loss(z, ei, q.argmax(1), w, tau=0.5, num_clusters=4))
    assert not out.requires_grad


@pytest.mark.parametrize("weighting", ["uniform", "size"])
@pytest.mark.parametrize("self_similarity", ["zero", "exclude"])
def test_empty_clusters_are_masked_never_nan(weighting, self_similarity):
    torch.manual_seed(0)
    z = torch.randn(20, 4, requires_grad=True)
    ei, w = graph(20, 40, 0)
    labels = torch.tensor([0, 3] * 10)  # clusters 1, 2, 4, 5 empty, K = 6
    out = pamc_loss(z, ei, labels, w.float(), num_clusters=6, weighting=weighting, self_similarity=self_similarity)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(z.grad).all()
    same = pamc_loss(z, ei, (labels > 0).long(), w.float(), num_clusters=2, weighting=weighting,
                     self_similarity=self_similarity)
    torch.testing.assert_close(out, same)  # relabelling / dropping empty clusters changes nothing
    # every node in one cluster: no negatives besides the constant, still finite
    one = pamc_loss(z, ei, torch.zeros(20, dtype=torch.long), w.float(), num_clusters=3, weighting=weighting,
                    self_similarity=self_similarity)
    assert torch.isfinite(one)


def test_isolated_node_with_only_a_self_loop_gets_its_weight_as_positive():
    from graphcl.losses.ncontrast import positive_log_terms

    z = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    ei = torch.tensor([[0, 1, 2, 3, 4, 0, 1], [0, 1, 2, 3, 4, 1, 0]])
    w = torch.tensor([0.5, 0.5, 0.3, 1.0, 1.0, 0.5, 0.5], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1])
    for tau in (0.25, 1.0, 2.25):
        log_pos, has = positive_log_terms(z, ei, w, tau)
        torch.testing.assert_close(log_pos[2], torch.log(w[2]))  # pos_2 = w_22, whatever τ
        assert has.all()
        out = pamc_loss(z, ei, labels, w, tau=tau)
        (g,) = torch.autograd.grad(out, z)
        assert torch.isfinite(out) and torch.isfinite(g).all()
    torch.testing.assert_close(pamc_loss(z, ei, labels, w, tau=1.0), naive_uniform(z, labels, 2, ei, w, 1.0))


def test_size_weighted_form_approximates_exact_value_on_a_mixture():
    """Spec test C: Gaussian mixture, N = 2000, d = 10, 6 components, τ = 1, k-means partitions."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(6, 10, generator=g) * 3
    labels = torch.randint(0, 6, (2000,), generator=g)
    loops = torch.arange(2000).repeat(2, 1)
    for spread in (0.3, 1.0, 3.0):
        x = (centers[labels] + spread * torch.randn(2000, 10, generator=g)).double()
        exact = float(ncontrast_loss(x, loops, tau=1.0))
        errors, uniform = [], []
        for k in (6, 50, 200):
            c = kmeans(x.float(), k, seed=0).labels
            approx = float(pamc_loss(x, loops, c, tau=1.0, weighting="size", num_clusters=k))
            assert approx <= exact + 1e-9  # Jensen: mean-cosine blocks under-estimate every negative sum
            errors.append(abs(approx - exact) / exact)
            uniform.append(float(pamc_loss(x, loops, c, tau=1.0, num_clusters=k)))
        assert errors[0] < 0.02, errors
        assert errors[-1] <= errors[0] + 1e-6  # finer meta-nodes approximate better
        # the authors' form is a log(K)-scale surrogate, not a value approximation
        assert uniform[0] < uniform[1] < uniform[2] < exact


def test_meta_node_info_nce_equals_grace_at_identity_and_approximates_it():
    torch.manual_seed(3)
    z1 = torch.randn(50, 8, dtype=torch.float64, requires_grad=True)
    z2 = (z1.detach() + 0.3 * torch.randn(50, 8, dtype=torch.float64)).requires_grad_()
    for symmetric in (True, False):
        ref = grace_info_nce(z1, z2, 0.5, symmetric=symmetric, chunk_size=None)
        g_ref = torch.autograd.grad(ref, (z1, z2))
        out = meta_node_info_nce(z1, z2, torch.arange(50), 0.5, symmetric=symmetric)
        g_out = torch.autograd.grad(out, (z1, z2))
        torch.testing.assert_close(out, ref)
        for a, b in zip(g_out, g_ref):
            torch.testing.assert_close(a, b)
    labels = kmeans(z1.detach().float(), 10, seed=0).labels
    approx = meta_node_info_nce(z1, z2, labels, 0.5)
    exact = grace_info_nce(z1, z2, 0.5)
    approx, exact = float(approx.detach()), float(exact.detach())
    assert approx <= exact + 1e-9 and abs(approx - exact) / exact < 0.1


def test_bad_input_errors():
    z = torch.randn(10, 4)
    ei = torch.arange(10).repeat(2, 1)
    with pytest.raises(ValueError, match="more than the N=10"):
        pamc_loss(z, ei, torch.zeros(10, dtype=torch.long), num_clusters=11)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        pamc_loss(z, ei, torch.zeros(10, 1))
    with pytest.raises(ValueError, match="no edges"):
        pamc_loss(z, torch.empty(2, 0, dtype=torch.long), torch.arange(10) % 2)
    bad = z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pamc_loss(bad, ei, torch.arange(10) % 2)
    with pytest.raises(ValueError, match="weighting"):
        PamCLoss(weighting="mean")
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        pamc_loss(z, ei, torch.arange(10), num_clusters=2)
    with pytest.raises(ValueError, match="integers"):
        pamc_loss(z, ei, torch.rand(10))


def test_meta_node_info_nce_with_node_bias_is_exact_at_identity_and_shift_invariant():
    from graphcl.losses import grace_info_nce
    from graphcl.losses.pamc import meta_node_info_nce

    g = torch.Generator().manual_seed(4)
    u = torch.randn(14, 5, dtype=torch.float64, generator=g, requires_grad=True)
    v = torch.randn(14, 5, dtype=torch.float64, generator=g, requires_grad=True)
    bias = 3 * torch.randn(14, dtype=torch.float64, generator=g)
    got = meta_node_info_nce(u, v, torch.arange(14), 0.5, node_bias=bias)
    want = grace_info_nce(u, v, 0.5, node_bias=bias, chunk_size=None)
    torch.testing.assert_close(got, want)
    for a, b in zip(torch.autograd.grad(got, (u, v)), torch.autograd.grad(want, (u, v))):
        torch.testing.assert_close(a, b)
    labels = torch.arange(14) % 4
    per_cluster = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64)[labels]
    one = meta_node_info_nce(u, v, labels, 0.5, node_bias=per_cluster)
    torch.testing.assert_close(one, meta_node_info_nce(u, v, labels, 0.5, node_bias=per_cluster + 7.0))
    assert not torch.allclose(one, meta_node_info_nce(u, v, labels, 0.5))
    with pytest.raises(ValueError, match="node_bias"):
        meta_node_info_nce(u, v, labels, 0.5, node_bias=torch.zeros(3, dtype=torch.float64))


def test_uniform_form_is_lowered_by_emptying_clusters_size_form_is_not():
    """Why PamC's authors' form loses clusters in training (pamc-*.json notes): for the SAME embeddings its
    negative term falls as meta-nodes merge (0 with one occupied cluster), whereas the size-weighted form stays
    at the exact loss's value whatever the partition."""
    g = torch.Generator().manual_seed(0)
    n, d, k = 400, 10, 4
    labels = torch.arange(n) % k
    z = torch.randn(k, d, generator=g)[labels] + 0.5 * torch.randn(n, d, generator=g)
    loops = torch.arange(n).repeat(2, 1)  # self-loops only: the positive term is a constant
    partitions = [labels, torch.where(labels == 3, 2, labels), torch.zeros_like(labels)]
    for tau in (0.25, 1.0):
        exact = float(ncontrast_loss(z, loops, tau=tau))
        uniform = [float(pamc_loss(z, loops, p, tau=tau, num_clusters=k)) for p in partitions]
        size = [float(pamc_loss(z, loops, p, tau=tau, num_clusters=k, weighting="size")) for p in partitions]
        assert uniform[0] > uniform[1] + 0.2 and uniform[2] == 0.0
        assert all(abs(s - exact) / exact < 0.02 for s in size)


def test_meta_node_info_nce_non_tensor_node_bias_names_the_field():
    u = torch.randn(6, 3)
    with pytest.raises(ValueError, match="node_bias"):
        meta_node_info_nce(u, u.clone(), torch.tensor([0, 0, 0, 1, 1, 1]), 0.5, node_bias=[0.0] * 6)
