"""HeCo's co-contrastive loss against a naive reference written from the authors' formula."""
import pytest
import torch

from graphcl.losses import CoContrastiveLoss, co_contrastive_loss


def naive_co_contrastive(u, v, positive_index, tau, lam):
    """The authors' computation: exp(cos / tau), row-normalised (+1e-8), -log of the mass on the positives, with
    the SAME positive mask for the transposed (schema-view) direction."""
    n = u.size(0)
    mask = torch.zeros(n, n, dtype=u.dtype)
    mask[positive_index[0], positive_index[1]] = 1.0
    norms = u.norm(dim=1, keepdim=True) @ v.norm(dim=1, keepdim=True).t()
    sim = torch.exp(u @ v.t() / norms / tau)
    mp = sim / (sim.sum(1, keepdim=True) + 1e-8)
    sc = sim.t() / (sim.t().sum(1, keepdim=True) + 1e-8)
    loss_mp = -torch.log((mp * mask).sum(1)).mean()
    loss_sc = -torch.log((sc * mask).sum(1)).mean()
    return lam * loss_mp + (1 - lam) * loss_sc


def random_positives(n, per_node, generator):
    rows, cols = [], []
    for i in range(n):
        others = torch.randperm(n, generator=generator)[: per_node - 1].tolist()
        chosen = sorted({i, *others}) if i % 3 else sorted(set(others) or {i})  # self is not always a positive
        rows += [i] * len(chosen)
        cols += chosen
    return torch.tensor([rows, cols])


@pytest.mark.parametrize("n, d, per_node, tau, lam", [(7, 3, 2, 0.8, 0.5), (30, 16, 5, 0.5, 0.3),
                                                      (50, 8, 20, 0.9, 1.0), (12, 4, 1, 0.1, 0.0)])
def test_matches_the_naive_reference(n, d, per_node, tau, lam):
    generator = torch.Generator().manual_seed(n)
    u = torch.randn(n, d, generator=generator, dtype=torch.float64, requires_grad=True)
    v = torch.randn(n, d, generator=generator, dtype=torch.float64, requires_grad=True)
    index = random_positives(n, per_node, generator)
    ours = CoContrastiveLoss(tau, lam)(u, v, index)
    expected = naive_co_contrastive(u, v, index, tau, lam)
    torch.testing.assert_close(ours, expected, rtol=1e-7, atol=1e-7)
    grads = torch.autograd.grad(ours, (u, v))
    expected_grads = torch.autograd.grad(expected, (u, v))
    for a, b in zip(grads, expected_grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


def test_the_schema_direction_uses_the_positive_sets_untransposed():
    u, v = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    index = torch.tensor([[0, 1, 2, 3, 4, 5, 0], [0, 1, 2, 3, 4, 5, 3]])  # asymmetric: 3 in P_0, 0 not in P_3
    only_sc = co_contrastive_loss(u, v, index, 0.5, lam=0.0)
    transposed = co_contrastive_loss(v, u, index.flip(0), 0.5, lam=1.0)  # what a transposed mask would give
    assert not torch.allclose(only_sc, transposed)
    torch.testing.assert_close(only_sc, naive_co_contrastive(u, v, index, 0.5, 0.0))


def test_aligned_views_with_their_positives_give_a_lower_loss():
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(40, 8, generator=generator)
    index = torch.stack([torch.arange(40), torch.arange(40)])
    aligned = co_contrastive_loss(u, u + 0.01 * torch.randn(40, 8, generator=generator), index, 0.5)
    shuffled = co_contrastive_loss(u, u[torch.randperm(40, generator=generator)], index, 0.5)
    assert aligned < shuffled


def test_a_small_temperature_stays_finite_and_matches_the_reference():
    u = torch.randn(20, 4, dtype=torch.float64)
    index = torch.stack([torch.arange(20), torch.arange(20)])
    assert torch.isfinite(co_contrastive_loss(u.float(), -u.float(), index, 0.01))
    v = torch.randn(20, 4, dtype=torch.float64)
    torch.testing.assert_close(co_contrastive_loss(u, v, index, 0.02, 0.3), naive_co_contrastive(u, v, index, 0.02, 0.3))


@pytest.mark.parametrize("kwargs, message", [({"tau": 0.0}, "tau"), ({"tau": 0.5, "lam": 1.5}, "lam")])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CoContrastiveLoss(**kwargs)


def test_positive_ids_out_of_range_are_rejected():
    u = torch.randn(4, 2)
    with pytest.raises(ValueError, match="outside"):
        co_contrastive_loss(u, u, torch.tensor([[0, 1], [1, 4]]), 0.5)
