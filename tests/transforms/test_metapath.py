"""MEOW's meta-path views: PathSim top-k, the (transposed) normalisation, masks, coarse view, contexts."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcl.data.heco import metapath_adjacency
from graphcl.errors import ConfigError, DataError
from graphcl.transforms.metapath import (
    MetaPathContexts,
    MetaPathViews,
    mask_metapath_edges,
    mask_nonzero_features,
    metapath_normalize,
    pathsim_topk,
)
from tests.hetero_graphs import planted_hetero_graph


def _dense(edge_index: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.zeros(n, n, dtype=torch.float64)
    out[edge_index[0], edge_index[1]] = values.double()
    return out


def _naive_topk(counts: torch.Tensor, k: int) -> torch.Tensor:
    n = counts.size(0)
    kept = torch.zeros_like(counts)
    diag = counts.diagonal()
    for i in range(n):
        candidates = []
        for j in range(n):
            if counts[i, j] > 0:
                score = float("inf") if i == j else 2 * counts[i, j] / (diag[i] + diag[j])
                candidates.append((-score, j))
        for _, j in sorted(candidates)[:k]:  # highest PathSim first, ties to the lower column
            kept[i, j] = counts[i, j]
    return kept


@pytest.mark.parametrize("n,k,seed", [(6, 2, 0), (15, 4, 1), (30, 7, 2)])
def test_pathsim_topk_matches_a_naive_reference_with_stable_ties(n: int, k: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    incidence = (torch.rand(n, 5, generator=gen) < 0.4).double()
    counts = incidence @ incidence.t()  # symmetric count matrix with a diagonal, plenty of ties
    edge_index = counts.nonzero().t()
    shuffled = torch.randperm(edge_index.size(1), generator=gen)
    kept_index, kept_counts = pathsim_topk(edge_index[:, shuffled], counts[edge_index[0], edge_index[1]][shuffled],
                                           n, k)
    assert torch.equal(_dense(kept_index, kept_counts, n), _naive_topk(counts, k))
    has_self = counts.diagonal() > 0
    kept = _dense(kept_index, kept_counts, n)
    assert torch.equal(kept.diagonal()[has_self], counts.diagonal()[has_self])  # self always kept
    assert pathsim_topk(edge_index, counts[edge_index[0], edge_index[1]], n, None)[0] is edge_index
    with pytest.raises(ConfigError):
        pathsim_topk(edge_index, counts[edge_index[0], edge_index[1]], n, 0)


def test_pathsim_ties_random_and_reference() -> None:
    """``random``: the same PathSim multiset per row as ``index``, the tied entries drawn at random (a different
    seed picks others), self kept; ``reference``: exactly numpy's argsort selection of the reference code."""
    import numpy as np

    n, k = 40, 6
    counts = torch.ones(n, n, dtype=torch.float64)  # one shared subject: every pair tied at PathSim 1 (ACM-PSP)
    edge_index = counts.nonzero().t()
    values = counts[edge_index[0], edge_index[1]]
    by_index = _dense(*pathsim_topk(edge_index, values, n, k), n)
    assert torch.equal(by_index[:, :k - 1], torch.ones(n, k - 1))  # itself and the lowest column indices
    assert torch.equal(by_index.sum(1), torch.full((n,), float(k))) and torch.equal(by_index.diagonal(), torch.ones(n))
    picks = []
    for seed in (0, 1):
        kept = _dense(*pathsim_topk(edge_index, values, n, k, ties="random",
                                    generator=torch.Generator().manual_seed(seed)), n)
        assert torch.equal(kept.sum(1), torch.full((n,), float(k))) and torch.equal(kept.diagonal(), torch.ones(n))
        picks.append(kept)
    assert not torch.equal(picks[0], picks[1]) and not torch.equal(picks[0], by_index)
    gen = torch.Generator().manual_seed(3)
    incidence = (torch.rand(n, 5, generator=gen) < 0.4).double()
    counts = incidence @ incidence.t()
    edge_index = counts.nonzero().t()
    kept_index, kept_counts = pathsim_topk(edge_index, counts[edge_index[0], edge_index[1]], n, k, ties="reference")
    c = counts.numpy()
    diag = c.diagonal()
    scores = np.zeros_like(c)
    nz = c.nonzero()
    scores[nz] = 2 * c[nz] / (diag[nz[0]] + diag[nz[1]])
    expected = np.zeros_like(c)
    for i, row in enumerate(np.argsort(scores, axis=1)[:, ::-1][:, :k]):
        expected[i, row] = c[i, row]
    assert np.array_equal(_dense(kept_index, kept_counts, n).numpy(), expected)
    with pytest.raises(ConfigError, match="ties"):
        pathsim_topk(edge_index, counts[edge_index[0], edge_index[1]], n, k, ties="stable")
    with pytest.raises(ConfigError, match="ties"):
        MetaPathViews([3], [0.1], 0.1, ties="lowest")


@pytest.mark.parametrize("symmetric", [False, True])
def test_normalisation_matches_the_dense_formula(symmetric: bool) -> None:
    gen = torch.Generator().manual_seed(3)
    a = (torch.rand(9, 9, generator=gen) < 0.3).double() * torch.randint(1, 5, (9, 9), generator=gen)
    a[4] = 0  # a zero-degree row
    edge_index = a.nonzero().t()
    op = metapath_normalize(edge_index, a[edge_index[0], edge_index[1]].float(), 9, symmetric=symmetric)
    if symmetric:
        a = torch.maximum(a, a.t())
    degree = a.sum(1)
    inv = torch.where(degree > 0, degree.pow(-0.5), torch.zeros_like(degree))
    expected = inv[:, None] * (a.t() if not symmetric else a) * inv[None, :]
    assert torch.allclose(op.to_dense().double(), expected, atol=1e-6)


def test_masks_drop_exact_fractions_binarise_and_keep_self_loops() -> None:
    edge_index = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 3, 3, 4], [0, 1, 0, 2, 2, 3, 1, 3, 4, 4]])
    gen = torch.Generator().manual_seed(0)
    masked = mask_metapath_edges(edge_index, 5, 0.5, gen)
    off = edge_index[0] != edge_index[1]
    kept_off = masked[:, masked[0] != masked[1]]
    assert kept_off.size(1) == int(off.sum()) - int(np.floor(0.5 * int(off.sum())))
    assert set(map(tuple, kept_off.t().tolist())) <= set(map(tuple, edge_index[:, off].t().tolist()))
    loops = masked[:, masked[0] == masked[1]]
    assert sorted(loops[0].tolist()) == list(range(5))
    x = torch.tensor([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    out = mask_nonzero_features(x, 0.5, torch.Generator().manual_seed(1))
    assert int((out != 0).sum()) == 6 - 3 and torch.all((out == x) | (out == 0))
    sparse_out = mask_nonzero_features(x.to_sparse(), 0.5, torch.Generator().manual_seed(1))
    assert int((sparse_out.to_dense() != 0).sum()) == 3
    with pytest.raises(ConfigError):
        mask_metapath_edges(edge_index, 5, 1.5)


def test_feature_masking_takes_strided_features() -> None:
    # Features built in column order (a numpy Fortran array through torch.from_numpy, or a transpose) used to fail
    # in .view(-1); the mask is the one of the contiguous copy.
    x = torch.tensor([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    strided = torch.from_numpy(np.asfortranarray(x.numpy()))
    assert not strided.is_contiguous()
    out = mask_nonzero_features(strided, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(out, mask_nonzero_features(x, 0.5, torch.Generator().manual_seed(1)))
    assert torch.equal(strided, x)  # the input is left alone


def test_views_and_contexts_on_a_heterogeneous_graph() -> None:
    data = planted_hetero_graph()
    n = data["paper"].num_nodes
    out = MetaPathContexts()(MetaPathViews([3, None], [0.5], 0.2, seed=0, ties="index")(data))
    assert ("paper", "PAP_view", "paper") not in data.edge_types  # the input graph is untouched
    pap_index, pap_counts = metapath_adjacency(data, "PAP")
    kept_index, kept_counts = pathsim_topk(pap_index, pap_counts, n, 3)
    view = out["paper", "PAP_view", "paper"].adj_t.to_dense()
    assert torch.allclose(view, metapath_normalize(kept_index, kept_counts, n).to_dense())
    assert torch.equal(view.t() != 0, _dense(kept_index, kept_counts, n) != 0)
    coarse = out["paper", "coarse", "paper"].adj_t.to_dense()
    expected = (view + out["paper", "PSP_view", "paper"].adj_t.to_dense()) / 2
    assert torch.allclose(coarse, expected, atol=1e-6)
    aug = out["paper", "PAP_aug", "paper"].adj_t.to_dense()
    assert torch.all(aug.diagonal() > 0)
    # Contexts: the mean of the reachable authors' rows.
    context = out["paper", "PAP_ctx1", "author"].adj_t
    pa = data["paper", "to", "author"].edge_index
    h = torch.randn(data["author"].num_nodes, 4)
    reach = torch.zeros(n, data["author"].num_nodes)
    reach[pa[0], pa[1]] = 1
    assert torch.allclose(context @ h, (reach @ h) / reach.sum(1, keepdim=True).clamp(min=1), atol=1e-5)
    assert out["paper"].x_masked.shape == data["paper"].x.shape
    # Same seed, same views (also with the default random ties).
    again = MetaPathViews([3, None], [0.5], 0.2, seed=0, ties="index")(data)
    assert torch.equal(again["paper", "PAP_aug", "paper"].adj_t.to_dense(), aug)
    first, second = (MetaPathViews([3, None], [0.5], 0.2, seed=0)(data) for _ in range(2))
    assert torch.equal(first["paper", "PAP_view", "paper"].adj_t.to_dense(),
                       second["paper", "PAP_view", "paper"].adj_t.to_dense())
    with pytest.raises(ConfigError, match="3 entries but there are 2 meta-paths"):
        MetaPathViews([1, 2, 3])(data)
    plain = planted_hetero_graph()
    del plain.metapath_specs
    with pytest.raises(DataError, match="declares no meta-paths"):
        MetaPathViews()(plain)


def test_bad_arguments_are_refused_at_construction() -> None:
    from graphcl.errors import ConfigError
    from graphcl.transforms import AddCommunities

    with pytest.raises(ConfigError, match="'edge_mask' must be a number in \\[0, 1\\], got None"):
        MetaPathViews(edge_mask=None)  # was a TypeError from float(None) when the views were first built
    with pytest.raises(ConfigError, match="'edge_mask' must be in \\[0, 1\\], got 1.5"):
        MetaPathViews(edge_mask=[0.1, 1.5])
    with pytest.raises(ConfigError, match="topk must be a positive int"):
        MetaPathViews(topk=[5, 0])
    with pytest.raises(ConfigError, match="feature_mask"):
        MetaPathViews(feature_mask=-0.1)
    assert MetaPathViews(topk=[5, None], edge_mask=[0.2, 0.3]).topk == [5, None]
    with pytest.raises(ConfigError, match="'seed' must be an int, got 'a'"):
        AddCommunities(seed="a")  # was int('a')'s ValueError
    with pytest.raises(ConfigError, match="'resolution' must be a positive number"):
        AddCommunities(resolution=0)
