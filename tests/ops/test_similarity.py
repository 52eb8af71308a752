import pytest
import torch

from graphcl.ops import (
    auto_chunk_size,
    chunked_logsumexp,
    cosine_similarity_matrix,
    topk_rows,
    topk_similarity,
    weighted_logsumexp,
)


def naive_lse(q, k, scale, bias, exclude):
    rows = []
    for i in range(q.size(0)):
        terms = [scale * (q[i] @ k[j]) + (0 if bias is None else bias[j]) for j in range(k.size(0)) if j != exclude[i]]
        rows.append(torch.logsumexp(torch.stack(terms), 0))
    return torch.stack(rows)


@pytest.mark.parametrize("chunk_size", [None, 1, 4, 100])
@pytest.mark.parametrize("with_bias", [False, True])
def test_weighted_logsumexp_matches_naive(chunk_size, with_bias):
    torch.manual_seed(0)
    q = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(11, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(11, dtype=torch.float64, requires_grad=True) if with_bias else None
    exclude = torch.tensor([0, -1, 3, 10, -1, 5, 6, 7, 1])
    w = torch.rand(9, dtype=torch.float64)
    out = weighted_logsumexp(q, k, scale=1.7, bias=bias, exclude=exclude, row_weight=w, chunk_size=chunk_size)
    ref = (naive_lse(q, k, 1.7, bias, exclude) * w).sum()
    assert out.item() == pytest.approx(ref.item(), rel=1e-12)
    inputs = [q, k] + ([bias] if with_bias else [])
    g = torch.autograd.grad(2.5 * out, inputs)
    g_ref = torch.autograd.grad(2.5 * ref, inputs)
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)


def test_weighted_logsumexp_without_grad_and_validation():
    q, k = torch.randn(5, 3), torch.randn(6, 3)
    with torch.no_grad():
        out = weighted_logsumexp(q, k, chunk_size=2)
    assert torch.isclose(out, chunked_logsumexp(q, k, chunk_size=4).sum())
    with pytest.raises(ValueError, match="same feature dimension"):
        weighted_logsumexp(q, torch.randn(6, 4))
    with pytest.raises(ValueError, match="bias"):
        weighted_logsumexp(q, k, bias=torch.zeros(5))
    with pytest.raises(ValueError, match="exclude"):
        weighted_logsumexp(q, k, exclude=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="chunk_size"):
        weighted_logsumexp(q, k, chunk_size=0)


def test_large_logits_are_stable():
    q = torch.eye(3) * 100
    out = chunked_logsumexp(q, q, scale=10.0)
    assert torch.isfinite(out).all()
    assert out[0].item() == pytest.approx(1e5, rel=1e-6)


def brute_topk(q, k, kk, exclude=None, key_mask=None):
    sim = cosine_similarity_matrix(q, k)
    if exclude is not None:
        for i, e in enumerate(exclude.tolist()):
            if e >= 0:
                sim[i, e] = float("-inf")
    if key_mask is not None:
        sim[:, ~key_mask] = float("-inf")
    order = torch.sort(sim, dim=1, descending=True, stable=True)
    return order.values[:, :kk], order.indices[:, :kk]


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
def test_topk_matches_brute_force_with_exclusions(chunk_size):
    torch.manual_seed(3)
    q, k = torch.randn(10, 5), torch.randn(20, 5)
    exclude = torch.arange(10)
    key_mask = torch.ones(20, dtype=torch.bool)
    key_mask[0] = False
    v, i = topk_similarity(q, k, 4, exclude=exclude, key_mask=key_mask, chunk_size=chunk_size)
    bv, bi = brute_topk(q, k, 4, exclude, key_mask)
    torch.testing.assert_close(v, bv)
    assert torch.equal(i, bi)
    assert not (i == 0).any()
    assert not (i == exclude.unsqueeze(1)).any()


def test_topk_ties_prefer_smaller_index_and_unfillable_slots():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    v, i = topk_similarity(q, k, 2)
    assert i.tolist() == [[0, 1]]
    v, i = topk_similarity(q, k, 3, key_mask=torch.tensor([True, False, False]))
    assert i.tolist() == [[0, -1, -1]]
    assert torch.isinf(v[0, 1:]).all()
    with pytest.raises(ValueError, match="k must be"):
        topk_similarity(q, k, 4)
    with pytest.raises(ValueError, match="metric"):
        topk_similarity(q, k, 1, metric="l1")


def test_auto_chunk_size():
    assert auto_chunk_size(1024, budget_mb=4.0) == 1024
    assert auto_chunk_size(10**12, budget_mb=1.0) == 1


@pytest.mark.parametrize("chunk_size", [None, 1, 3, 4, 100])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("exclude_kind", ["none", "self", "other"])
def test_symmetric_path_when_key_is_query(chunk_size, with_bias, exclude_kind):
    torch.manual_seed(4)
    x = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(10, dtype=torch.float64, requires_grad=True) if with_bias else None
    exclude = {"none": None, "self": torch.arange(10),
               "other": torch.tensor([3, -1, 0, 9, 4, 2, -1, 7, 1, 8])}[exclude_kind]
    w = torch.rand(10, dtype=torch.float64)
    out = weighted_logsumexp(x, x, scale=0.7, bias=bias, exclude=exclude, row_weight=w, chunk_size=chunk_size)
    ref = (naive_lse(x, x, 0.7, bias, exclude if exclude is not None else torch.full((10,), -1)) * w).sum()
    assert out.item() == pytest.approx(ref.item(), rel=1e-12)
    inputs = [x] + ([bias] if with_bias else [])
    for a, b in zip(torch.autograd.grad(1.5 * out, inputs), torch.autograd.grad(1.5 * ref, inputs)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_topk_rows_equals_a_stable_sort_with_heavy_ties(k: int) -> None:
    gen = torch.Generator().manual_seed(k)
    scores = torch.randint(0, 4, (50, 40), generator=gen).float()  # four distinct values: ties everywhere
    scores[torch.rand(50, 40, generator=gen) < 0.2] = float("-inf")
    scores[0] = float("-inf")  # a row with nothing allowed
    values, indices = topk_rows(scores, k)
    ref_v, ref_i = torch.sort(scores, dim=1, descending=True, stable=True)
    ref_v, ref_i = ref_v[:, :k], ref_i[:, :k].masked_fill(torch.isneginf(ref_v[:, :k]), -1)
    assert torch.equal(values, ref_v)
    assert torch.equal(indices, ref_i)
    assert (indices[0] == -1).all()


def _symmetric_paths(x, bias, w, scale, exclude, chunk_size, cache_bytes):
    from graphcl.ops import similarity

    args = (x, bias, w, scale, exclude, chunk_size, True, bias is not None)
    return similarity._symmetric_shifted(*args, cache_bytes=cache_bytes), similarity._symmetric_exact(*args)


@pytest.mark.parametrize("chunk_size", [3, 7, 64])
@pytest.mark.parametrize("cache_bytes", [0, 500, 10**9])  # recompute all, keep some, keep all blocks
@pytest.mark.parametrize("with_bias", [False, True])
def test_shifted_symmetric_form_equals_the_running_max_form(chunk_size, cache_bytes, with_bias):
    torch.manual_seed(5)
    n = 40
    x = torch.nn.functional.normalize(torch.randn(n, 16), dim=1)  # GRACE: cosine logits, tau = 0.4
    bias = torch.rand(n) * 3 if with_bias else None
    exclude = torch.arange(n).roll(n // 2)  # the positive-pair layout: i <-> i + n/2 (an involution)
    w = torch.rand(n)
    shifted, exact = _symmetric_paths(x, bias, w, 2.5, exclude, chunk_size, cache_bytes)
    assert shifted is not None
    for a, b in zip(shifted, exact):
        if b is not None:
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_shifted_form_declines_where_it_could_underflow_or_exclusions_are_not_symmetric():
    torch.manual_seed(6)
    x = torch.randn(12, 4, dtype=torch.float64)
    x[:6] *= 40.0  # very unequal norms at a large scale: the Cauchy-Schwarz shift would underflow small rows
    w = torch.rand(12, dtype=torch.float64)
    shifted, exact = _symmetric_paths(x, None, w, 5.0, None, 5, 10**9)
    assert shifted is None
    assert torch.isfinite(exact[0])
    one_way = torch.tensor([1, 2, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1])  # 0 -> 1 -> 2 -> 0: not symmetric
    assert _symmetric_paths(x / 40, None, w, 1.0, one_way, 5, 0)[0] is None
    assert _symmetric_paths(x.half(), None, w.half(), 1.0, None, 5, 0)[0] is None
    # The public function still gives the naive value through the running-max form.
    xg = x.clone().requires_grad_(True)
    out = weighted_logsumexp(xg, xg, scale=5.0, row_weight=w, chunk_size=5)
    ref = (naive_lse(xg, xg, 5.0, None, torch.full((12,), -1)) * w).sum()
    assert out.item() == pytest.approx(ref.item(), rel=1e-12)
    torch.testing.assert_close(torch.autograd.grad(out, xg)[0], torch.autograd.grad(ref, xg)[0])
    with pytest.raises(ValueError, match="cache_mb"):
        weighted_logsumexp(xg, xg, cache_mb=-1.0)


def test_chunked_logsumexp_validates_like_weighted_logsumexp():
    q, k = torch.randn(5, 3), torch.randn(6, 3)
    with pytest.raises(ValueError, match="bias"):
        chunked_logsumexp(q, k, bias=torch.zeros(5))
    with pytest.raises(ValueError, match="exclude"):
        chunked_logsumexp(q, k, exclude=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="integer key indices"):
        weighted_logsumexp(q, k, exclude=torch.zeros(5))
    with pytest.raises(ValueError, match="must be tensors"):
        chunked_logsumexp(q.tolist(), k)
    exclude = torch.tensor([0, 1, -1, 3, 5], dtype=torch.int32)  # any integer dtype, as weighted_logsumexp
    naive = torch.logsumexp((q @ k.t()).index_put((torch.tensor([0, 1, 3, 4]), torch.tensor([0, 1, 3, 5])),
                                                  torch.tensor(float("-inf"))), 1)
    torch.testing.assert_close(chunked_logsumexp(q, k, exclude=exclude, chunk_size=2), naive)


def test_topk_similarity_validates_exclude_key_mask_and_k():
    q, k = torch.randn(5, 3), torch.randn(6, 3)
    with pytest.raises(ValueError, match="exclude must have shape"):
        topk_similarity(q, k, 2, exclude=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="key_mask must be a bool tensor"):
        topk_similarity(q, k, 2, key_mask=torch.ones(6, dtype=torch.long))  # ~mask of ints is not a negation
    with pytest.raises(ValueError, match="k must be in"):
        topk_similarity(q, k, 2.0)


def test_stabilizer_switch_selects_the_running_max_form_with_equal_results():
    from unittest import mock

    from graphcl.ops import similarity

    torch.manual_seed(7)
    x = torch.nn.functional.normalize(torch.randn(30, 8), dim=1).requires_grad_(True)
    w = torch.rand(30)
    exclude = torch.arange(30).roll(15)
    results = {}
    for stabilizer in ("fixed_shift", "running_max"):
        with mock.patch.object(similarity, "_symmetric_exact", wraps=similarity._symmetric_exact) as exact:
            out = weighted_logsumexp(x, x, scale=2.5, exclude=exclude, row_weight=w, chunk_size=7,
                                     stabilizer=stabilizer)
        assert exact.called == (stabilizer == "running_max")
        results[stabilizer] = (out, torch.autograd.grad(out, x)[0])
    torch.testing.assert_close(results["fixed_shift"], results["running_max"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="stabilizer"):
        weighted_logsumexp(x, x, stabilizer="max")
