import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses import InfoNCE, grace_info_nce


def naive_grace_loss(z1, z2, tau, intra=True, symmetric=True, node_bias=None):
    """Written the way the GRACE authors' code writes it: explicit exp-similarity matrices, loops over anchors."""
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = u.size(0)
    w = torch.ones(n, dtype=u.dtype) if node_bias is None else torch.exp(node_bias)

    def one_direction(a, b):
        refl = torch.exp(a @ a.t() / tau) * w[None, :]
        between = torch.exp(a @ b.t() / tau) * w[None, :]
        losses = []
        for i in range(n):
            denom = between[i].sum()
            if intra:
                denom = denom + refl[i].sum() - refl[i, i]
            losses.append(-torch.log(between[i, i] / denom))
        return torch.stack(losses)

    l1 = one_direction(u, v)
    if not symmetric:
        return l1.mean()
    return 0.5 * (l1 + one_direction(v, u)).mean()


@pytest.mark.parametrize("n,d", [(2, 3), (17, 8), (64, 16)])
@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("intra,symmetric", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("chunk_size", [None, 5, 1024])
def test_matches_naive_reference(n, d, tau, intra, symmetric, chunk_size):
    torch.manual_seed(n * 31 + d)
    z1 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    loss = InfoNCE(tau, intra_view_negatives=intra, symmetric=symmetric, chunk_size=chunk_size)(z1, z2)
    ref = naive_grace_loss(z1, z2, tau, intra, symmetric)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10, abs=1e-10)
    g = torch.autograd.grad(loss, [z1, z2])
    g_ref = torch.autograd.grad(ref, [z1, z2])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("chunk_size", [None, 7])
def test_node_bias_weights_candidates(chunk_size):
    torch.manual_seed(0)
    z1 = torch.randn(20, 6, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(20, 6, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(20, dtype=torch.float64) * 3
    loss = grace_info_nce(z1, z2, 0.2, node_bias=bias, chunk_size=chunk_size)
    ref = naive_grace_loss(z1, z2, 0.2, node_bias=bias)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10)
    g, g_ref = torch.autograd.grad(loss, z1), torch.autograd.grad(ref, z1)
    torch.testing.assert_close(g[0], g_ref[0])


def test_chunked_equals_dense_float32_and_large_scale():
    torch.manual_seed(1)
    z1 = torch.randn(700, 64, requires_grad=True)
    z2 = torch.randn(700, 64, requires_grad=True)
    dense = InfoNCE(0.2, chunk_size=None)(z1, z2)
    chunked = InfoNCE(0.2, chunk_size=128)(z1, z2)
    assert abs(dense.item() - chunked.item()) < 1e-5
    gd = torch.autograd.grad(dense, [z1, z2])
    gc = torch.autograd.grad(chunked, [z1, z2])
    for a, b in zip(gd, gc):
        assert (a - b).abs().max().item() < 1e-5


def test_self_similarity_is_excluded():
    # Identical views: if the anchor itself entered the denominator the loss would contain an extra e^{1/τ}.
    z = torch.eye(4, dtype=torch.float64)
    tau = 0.5
    loss = InfoNCE(tau)(z, z.clone())
    # positive e^{2}; negatives: 3 inter-view + 3 intra-view orthogonal vectors e^{0}
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + 6))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_loss_decreases_when_positives_align():
    torch.manual_seed(0)
    z1 = torch.randn(50, 8)
    aligned = InfoNCE(0.5)(z1, z1 + 0.01 * torch.randn(50, 8))
    random = InfoNCE(0.5)(z1, torch.randn(50, 8))
    assert aligned < random


def test_scale_invariance_and_symmetry():
    torch.manual_seed(2)
    z1, z2 = torch.randn(30, 5, dtype=torch.float64), torch.randn(30, 5, dtype=torch.float64)
    loss = InfoNCE(0.3)
    assert loss(z1, z2).item() == pytest.approx(loss(3 * z1, 0.5 * z2).item())
    assert loss(z1, z2).item() == pytest.approx(loss(z2, z1).item())


def test_invalid_arguments():
    with pytest.raises(ValueError, match="tau"):
        InfoNCE(0.0)
    with pytest.raises(ValueError, match="chunk_size"):
        InfoNCE(0.5, chunk_size=0)
    with pytest.raises(ValueError, match="same shape"):
        InfoNCE()(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least 2"):
        InfoNCE()(torch.randn(1, 3), torch.randn(1, 3))


def test_functional_form_rejects_nan_or_non_numeric_tau_and_non_tensor_bias():
    z1, z2 = torch.randn(4, 3), torch.randn(4, 3)
    for tau in (float("nan"), "0.5", float("inf"), 0.0):
        with pytest.raises(ValueError, match="tau"):
            grace_info_nce(z1, z2, tau)
    with pytest.raises(ValueError, match="node_bias"):
        grace_info_nce(z1, z2, 0.5, node_bias=[0.0] * 4)
    with pytest.raises(ValueError, match="tau"):
        InfoNCE("0.5")
