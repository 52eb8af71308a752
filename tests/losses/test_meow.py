"""MEOW's weighted InfoNCE, clustering prototypes and ProtoNCE against naive references."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphcl.losses.meow import (
    ProtoNCE,
    WeightedInfoNCE,
    cluster_prototypes,
    cluster_weights,
    positive_sets,
)


def _naive_weighted(a: torch.Tensor, e: torch.Tensor, w: torch.Tensor, tau: float) -> torch.Tensor:
    n = a.size(0)
    total = []
    for i in range(n):
        s = torch.exp(a[i] @ e.t() / tau)
        denominator = sum(w[i, j] * s[j] for j in range(n))
        total.append(-torch.log(s[i] / denominator))
    return torch.stack(total).mean()


@pytest.mark.parametrize("n,d,t,chunk", [(7, 3, 1, None), (20, 5, 2, 6), (33, 8, 3, 32)])
def test_weighted_info_nce_matches_naive_reference(n: int, d: int, t: int, chunk: int | None) -> None:
    gen = torch.Generator().manual_seed(n)
    a = F.normalize(torch.randn(n, d, generator=gen), dim=1).requires_grad_()
    e = F.normalize(torch.randn(n, d, generator=gen), dim=1).requires_grad_()
    labels = torch.randint(0, 4, (t, n), generator=gen)
    weights = cluster_weights(labels)
    assert torch.all(weights.diagonal() == 0) and weights.max() <= t
    loss = WeightedInfoNCE(0.5, chunk_size=chunk)(a, e, labels=labels)
    expected = _naive_weighted(a.detach(), e.detach(), weights, 0.5)
    assert torch.allclose(loss, expected, atol=1e-5)
    # Same value and gradients through an explicit weight matrix.
    a2, e2 = a.detach().clone().requires_grad_(), e.detach().clone().requires_grad_()
    loss2 = WeightedInfoNCE(0.5, chunk_size=None)(a2, e2, weight=weights)
    loss.backward()
    loss2.backward()
    assert torch.allclose(loss, loss2, atol=1e-6)
    assert torch.allclose(a.grad, a2.grad, atol=1e-5) and torch.allclose(e.grad, e2.grad, atol=1e-5)


def test_unweighted_and_positive_included_forms() -> None:
    gen = torch.Generator().manual_seed(0)
    a, e = torch.randn(9, 4, generator=gen), torch.randn(9, 4, generator=gen)
    ones_off = torch.ones(9, 9) - torch.eye(9)
    assert torch.allclose(WeightedInfoNCE(0.7)(a, e), _naive_weighted(a, e, ones_off, 0.7), atol=1e-5)
    standard = F.cross_entropy(a @ e.t() / 0.7, torch.arange(9))  # the usual InfoNCE
    assert torch.allclose(WeightedInfoNCE(0.7, include_positive=True)(a, e), standard, atol=1e-5)


def test_scaling_all_weights_shifts_the_loss_by_a_constant() -> None:
    gen = torch.Generator().manual_seed(1)
    a, e = torch.randn(12, 4, generator=gen), torch.randn(12, 4, generator=gen)
    w = torch.rand(12, 12, generator=gen)
    loss = WeightedInfoNCE(0.5)
    assert torch.allclose(loss(a, e, weight=3 * w), loss(a, e, weight=w) + math.log(3), atol=1e-5)
    # An explicit matrix is used as given, its diagonal included (only label and unit weights set w_ii = 0).
    assert torch.allclose(loss(a, e, weight=w), _naive_weighted(a, e, w, 0.5), atol=1e-5)


def test_rows_without_negatives_are_left_out_and_bad_input_raises() -> None:
    a, e = torch.randn(6, 3), torch.randn(6, 3)
    labels = torch.tensor([[0, 0, 1, 1, 1, 2]])
    w = cluster_weights(labels)
    w[0] = 0  # anchor 0: nothing to contrast with
    rows = [i for i in range(6) if i != 0]
    expected = torch.stack([-(a[i] @ e[i]) / 0.5 + torch.logsumexp(a[i] @ e.t() / 0.5 + torch.log(w[i]), 0)
                            for i in rows]).mean()
    assert torch.allclose(WeightedInfoNCE(0.5)(a, e, weight=w), expected, atol=1e-5)
    with pytest.raises(ValueError, match="tau"):
        WeightedInfoNCE(0.0)
    with pytest.raises(ValueError, match="same shape"):
        WeightedInfoNCE()(a, e[:5])
    with pytest.raises(ValueError, match=r"labels must be \[T, N\]"):
        WeightedInfoNCE()(a, e, labels=torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="all weights zero"):
        WeightedInfoNCE()(a, e, weight=torch.zeros(6, 6))


def _naive_multi_positive(a: torch.Tensor, e: torch.Tensor, w: torch.Tensor, positives: list[set[int]],
                          tau: float, include_positive: bool) -> torch.Tensor:
    total = []
    for i in range(a.size(0)):
        s = torch.exp(a[i] @ e.t() / tau)
        numerator = sum(s[j] for j in positives[i])
        weights = [(1.0 if include_positive else 0.0) if j in positives[i] else w[i, j] for j in range(a.size(0))]
        total.append(-torch.log(numerator / sum(weights[j] * s[j] for j in range(a.size(0)))))
    return torch.stack(total).mean()


@pytest.mark.parametrize("chunk", [None, 4, 7])
@pytest.mark.parametrize("include_positive", [False, True])
def test_several_positives_match_a_naive_reference(chunk: int | None, include_positive: bool) -> None:
    gen = torch.Generator().manual_seed(3)
    n = 15
    a = F.normalize(torch.randn(n, 4, generator=gen), dim=1).requires_grad_()
    e = F.normalize(torch.randn(n, 4, generator=gen), dim=1).requires_grad_()
    labels = torch.randint(0, 3, (2, n), generator=gen)
    # Unsorted pairs with a duplicate and an explicit self pair; node 14 has no pair (its positive set is {14}).
    pairs = torch.tensor([[3, 0, 0, 7, 3, 12, 5, 5], [1, 2, 9, 8, 1, 0, 5, 13]])
    positives = [{i} for i in range(n)]
    for i, j in pairs.t().tolist():
        positives[i].add(j)
    loss = WeightedInfoNCE(0.6, include_positive=include_positive, chunk_size=chunk)(
        a, e, labels=labels, positive_index=pairs)
    expected = _naive_multi_positive(a.detach(), e.detach(), cluster_weights(labels), positives, 0.6,
                                     include_positive)
    assert torch.allclose(loss, expected, atol=1e-5)
    loss.backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(e.grad).all()
    prepared = positive_sets(pairs, n)  # made once, as a training loop passes them
    assert [set(prepared.col[prepared.ptr[i]:prepared.ptr[i + 1]].tolist()) for i in range(n)] == positives
    again = WeightedInfoNCE(0.6, include_positive=include_positive, chunk_size=chunk)(
        a, e, labels=labels, positive_index=prepared)
    assert torch.equal(again, loss)


def test_self_pairs_only_are_the_single_positive_loss_and_bad_pairs_raise() -> None:
    gen = torch.Generator().manual_seed(4)
    a, e = torch.randn(8, 3, generator=gen), torch.randn(8, 3, generator=gen)
    labels = torch.randint(0, 3, (2, 8), generator=gen)
    loss = WeightedInfoNCE(0.5, chunk_size=3)
    selves = torch.arange(8).repeat(2, 1)
    assert torch.allclose(loss(a, e, labels=labels, positive_index=selves), loss(a, e, labels=labels), atol=1e-6)
    assert torch.allclose(loss(a, e, positive_index=torch.zeros(2, 0, dtype=torch.long)), loss(a, e), atol=1e-6)
    with pytest.raises(ValueError, match=r"outside \[0, 8\)"):
        loss(a, e, positive_index=torch.tensor([[0], [8]]))
    with pytest.raises(ValueError, match=r"pairs \[2, P\]"):
        loss(a, e, positive_index=torch.tensor([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="positive sets are for 9 nodes, the anchors 8"):
        loss(a, e, positive_index=positive_sets(selves, 9))


def _naive_concentration(x: torch.Tensor, labels: torch.Tensor, k: int, tau: float) -> torch.Tensor:
    phi = torch.zeros(k)
    sizes = torch.bincount(labels, minlength=k)
    for c in range(k):
        members = x[labels == c]
        centre = members.mean(0)
        if members.size(0) > 1:
            phi[c] = (members @ centre).clamp(min=0).sqrt().mean() / math.log(members.size(0) + 5)
    phi[sizes <= 1] = phi[sizes > 1].max()
    low, high = torch.quantile(phi, 0.1), torch.quantile(phi, 0.9)
    phi = phi.clamp(float(low), float(high))
    return tau * phi / phi.mean()


@pytest.mark.parametrize("n,k", [(40, [3, 5]), (64, [8])])
def test_cluster_prototypes_and_proto_nce_match_naive_references(n: int, k: list[int]) -> None:
    gen = torch.Generator().manual_seed(n)
    x = F.normalize(torch.randn(n, 6, generator=gen), dim=1)
    protos = cluster_prototypes(x, k, tau=0.4, n_init=2, max_iter=10, seed=3)
    assert protos.labels.shape == (len(k), n)
    again = cluster_prototypes(x, k, tau=0.4, n_init=2, max_iter=10, seed=3)
    assert torch.equal(protos.labels, again.labels)  # seeded
    for t, kt in enumerate(k):
        labels = protos.labels[t]
        assert torch.allclose(protos.concentration[t], _naive_concentration(x, labels, kt, 0.4), atol=1e-5)
        assert torch.allclose(protos.concentration[t].mean(), torch.tensor(0.4))
        means = torch.stack([x[labels == c].mean(0) for c in range(kt)])
        assert torch.allclose(protos.centroids[t], F.normalize(means, dim=1), atol=1e-5)
    anchor = F.normalize(torch.randn(n, 6, generator=gen), dim=1)
    expected = 0.0
    for t in range(len(k)):
        terms = []
        for i in range(n):
            scores = anchor[i] @ protos.centroids[t].t() / protos.concentration[t]
            terms.append(-scores[protos.labels[t, i]] + torch.logsumexp(scores, 0))
        expected += torch.stack(terms).mean() / len(k)
    assert torch.allclose(ProtoNCE()(anchor, protos), expected, atol=1e-5)


def test_non_finite_weights_labels_and_prototypes_raise_clear_errors() -> None:
    from graphcl.losses.meow import ClusterPrototypes

    a, e = torch.randn(6, 3), torch.randn(6, 3)
    w = torch.ones(6, 6)
    w[2, 3] = float("nan")
    with pytest.raises(ValueError, match="finite, non-negative"):
        WeightedInfoNCE()(a, e, weight=w)
    with pytest.raises(ValueError, match="integer tensor of cluster ids"):
        WeightedInfoNCE()(a, e, labels=torch.zeros(1, 6))
    good = ClusterPrototypes(torch.zeros(1, 6, dtype=torch.long), [torch.randn(2, 3)], [torch.ones(2)])
    assert torch.isfinite(ProtoNCE()(a, good))
    with pytest.raises(ValueError, match="same number T of clusterings"):  # was silently truncated by zip
        ProtoNCE()(a, ClusterPrototypes(torch.zeros(2, 6, dtype=torch.long), good.centroids, good.concentration))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        ProtoNCE()(a, ClusterPrototypes(torch.full((1, 6), 5), good.centroids, good.concentration))
    with pytest.raises(ValueError, match="integer cluster ids"):
        ProtoNCE()(a, ClusterPrototypes(torch.zeros(1, 6), good.centroids, good.concentration))
    with pytest.raises(ValueError, match="finite and positive"):
        ProtoNCE()(a, ClusterPrototypes(good.labels, good.centroids, [torch.tensor([1.0, 0.0])]))
    with pytest.raises(ValueError, match="num_clusters"):
        cluster_prototypes(a, [2, 10], 0.5)
    with pytest.raises(ValueError, match="tau"):
        cluster_prototypes(a, [2], 0.0)


def test_meow_and_adameow_losses_are_exported_by_graphcl_losses() -> None:
    from graphcl import losses
    from graphcl.losses.adameow import LearnedNegativeWeights

    assert losses.WeightedInfoNCE is WeightedInfoNCE and losses.ProtoNCE is ProtoNCE
    assert losses.cluster_prototypes is cluster_prototypes and losses.LearnedNegativeWeights is LearnedNegativeWeights
    assert {"WeightedInfoNCE", "ProtoNCE", "LearnedNegativeWeights"} <= set(losses.__all__)
