"""The optional faiss retrieval backend against the exact torch path (those tests skip when faiss is not
importable); without faiss the backend is a clear error and nothing imports it."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from graphcl.errors import ConfigError
from recsys.data import leave_one_out, make_sequence_dataset
from recsys.models.sracl import SRACL
from recsys.semantic import FaissSearch, PrecomputedSource, build_semantic_index, item_neighbours, semantic_topk

try:
    import faiss
except ImportError:
    faiss = None
needs_faiss = pytest.mark.skipif(faiss is None, reason="faiss is not installed (pip install faiss-cpu)")


def exclusion_case(n, m, d, seed):
    g = torch.Generator().manual_seed(seed)
    query, key = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g)
    key[1] = 0.0
    query[-1] = 0.0
    return query, key, {
        "exclude_index": torch.randint(-1, m, (n,), generator=g),
        "key_mask": torch.rand(m, generator=g) > 0.2,
        "query_group": torch.randint(0, 4, (n,), generator=g),
        "key_group": torch.randint(0, 4, (m,), generator=g),
    }


@needs_faiss
@pytest.mark.parametrize("n,m,d,k", [(7, 7, 3, 2), (20, 35, 8, 5), (33, 12, 4, 12), (5, 40, 16, 40), (300, 900, 16, 10)])
@pytest.mark.parametrize("exclusions", ["none", "self", "all"])
def test_faiss_flat_equals_the_exact_path_without_ties(n, m, d, k, exclusions):
    query, key, kwargs = exclusion_case(n, m, d, seed=n * 100 + m)
    keep = {"none": (), "self": ("exclude_index",), "all": tuple(kwargs)}[exclusions]
    kwargs = {name: kwargs[name] for name in keep}
    ref_v, ref_i = semantic_topk(query, key, k, **kwargs)
    for backend in ("faiss", FaissSearch(threads=1)):
        values, indices = semantic_topk(query, key, k, chunk_size=7, backend=backend, **kwargs)
        assert torch.equal(indices, ref_i)
        finite = ref_i >= 0
        assert torch.allclose(values[finite], ref_v[finite], atol=1e-5)
        assert torch.isneginf(values[~finite]).all()


@needs_faiss
def test_same_user_exclusion_widens_the_faiss_search():
    # every query's own group holds its 30 nearest keys: the first k + 2 candidates are all excluded
    g = torch.Generator().manual_seed(3)
    centres = torch.randn(10, 8, generator=g)
    key = centres.repeat_interleave(30, 0) + 0.01 * torch.randn(300, 8, generator=g)
    key_group = torch.arange(10).repeat_interleave(30)
    query = centres + 0.01 * torch.randn(10, 8, generator=g)
    kwargs = {"query_group": torch.arange(10), "key_group": key_group}
    ref = semantic_topk(query, key, 5, **kwargs)[1]
    assert torch.equal(semantic_topk(query, key, 5, backend="faiss", **kwargs)[1], ref)
    assert (key_group[ref] != torch.arange(10)[:, None]).all()


@needs_faiss
def test_ties_at_the_kth_place_are_broken_by_index_as_on_the_exact_path():
    key = torch.tensor([[1.0, 0.0]] * 6 + [[0.0, 1.0]])
    query = torch.tensor([[1.0, 0.0], [1.0, 0.1]])
    for k in (1, 3, 6):
        ref = semantic_topk(query, key, k, exclude_index=torch.tensor([2, -1]))
        got = semantic_topk(query, key, k, exclude_index=torch.tensor([2, -1]), backend="faiss")
        assert torch.equal(got[1], ref[1])
    assert semantic_topk(query, key, 4, exclude_index=torch.tensor([2, -1]), backend="faiss")[1][0].tolist() == [
        0, 1, 3, 4]


@needs_faiss
@pytest.mark.parametrize("index", ["ivf", "hnsw"])
def test_approximate_indexes_return_valid_neighbours_with_high_recall(index):
    g = torch.Generator().manual_seed(0)
    key = torch.randn(2000, 16, generator=g)
    query = key[:200] + 0.1 * torch.randn(200, 16, generator=g)
    exact = semantic_topk(query, key, 10, exclude_index=torch.arange(200))[1]
    settings = FaissSearch(index=index, nlist=16, nprobe=8, ef_search=64, threads=1)
    approx = semantic_topk(query, key, 10, exclude_index=torch.arange(200), backend=settings)[1]
    assert (approx >= 0).all() and (approx != torch.arange(200)[:, None]).all()
    recall = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(approx, exact)) / exact.numel()
    assert recall > 0.8
    full = FaissSearch(index="ivf", nlist=16, nprobe=16, threads=1)  # every list scanned: exact
    assert torch.equal(semantic_topk(query, key, 10, exclude_index=torch.arange(200), backend=full)[1], exact)


@needs_faiss
def test_item_neighbours_and_the_index_record_the_backend(tmp_path):
    g = torch.Generator().manual_seed(1)
    items = torch.randn(30, 5, generator=g)
    items[0] = 0.0
    assert torch.equal(item_neighbours(items, 4, backend="faiss"), item_neighbours(items, 4))
    split = leave_one_out(make_sequence_dataset(num_users=120, num_items=60, num_clusters=6, seed=1), max_len=8)
    torch.save(torch.randn(split.num_items, 6, generator=g), tmp_path / "items.pt")
    source = PrecomputedSource(tmp_path / "items.pt")
    exact = build_semantic_index(source, split, k_items=2, k_windows=3, cache_dir=tmp_path)
    fast = build_semantic_index(source, split, k_items=2, k_windows=3, cache_dir=tmp_path, backend="faiss")
    assert exact.info["retrieval"] == {"backend": "exact"}
    assert fast.info["retrieval"] == {"backend": "faiss", "index": "flat"}
    assert not fast.info["window_neighbours_cached"]  # a non-exact backend has its own cache entry
    # the generated windows repeat patterns (a window and its doubled prefix are parallel vectors): neighbours
    # whose similarities differ only by float rounding may swap places, nothing else differs
    same = (fast.anchor_neighbours == exact.anchor_neighbours).all(1)
    assert same.float().mean() > 0.95
    q = torch.nn.functional.normalize(exact.anchor_vectors.float(), dim=1)
    x = torch.nn.functional.normalize(exact.pool_vectors.float(), dim=1)
    def similarity(neighbours):
        return (q[:, None, :] * x[neighbours]).sum(-1)
    assert torch.allclose(similarity(fast.anchor_neighbours), similarity(exact.anchor_neighbours), atol=1e-6)


@needs_faiss
def test_sracl_builds_its_index_with_the_configured_backend():
    dataset = make_sequence_dataset(num_users=80, num_items=40, num_clusters=4, seed=5)
    dataset = replace(dataset, item_attributes=[[]] + [[f"c{i % 4}", f"d{i % 3}"] for i in range(1, 41)])
    split = leave_one_out(dataset, max_len=10, padding="left")
    infos = {}
    for retrieval in ("exact", "faiss", "faiss-hnsw"):
        model = SRACL.build(dataset.num_items, max_len=10, semantics="attributes", semantic_cache="none",
                            k_items=3, k_windows=4, retrieval=retrieval)
        model.prepare(split=split, dataset=dataset)
        infos[retrieval] = model.run_info()["semantic_index"]["retrieval"]
    assert infos["exact"] == {"backend": "exact"} and infos["faiss"] == {"backend": "faiss", "index": "flat"}
    assert infos["faiss-hnsw"]["index"] == "hnsw" and infos["faiss-hnsw"]["ef_search"] == 128


def test_bad_backend_settings_are_clear_errors():
    x = torch.randn(4, 3)
    with pytest.raises(ConfigError, match="backend must be one of"):
        semantic_topk(x, x, 2, backend="annoy")
    with pytest.raises(ConfigError, match="backend must be one of"):
        SRACL.build(30, retrieval="annoy")
    with pytest.raises(ConfigError, match="faiss index must be one of"):
        FaissSearch(index="pq")
    with pytest.raises(ConfigError, match="nprobe must be >= 1"):
        FaissSearch(index="ivf", nprobe=0)


def test_without_faiss_the_backend_is_a_clear_error_and_faiss_is_never_imported(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now fails, as where it is not installed
    x = torch.randn(6, 3)
    with pytest.raises(ConfigError, match=r"needs the optional faiss package: pip install .graphrec-cl\[faiss\]."):
        semantic_topk(x, x, 2, backend="faiss")
    dataset = make_sequence_dataset(num_users=30, num_items=20, seed=2)
    split = leave_one_out(dataset, max_len=6)
    torch.save(torch.randn(split.num_items, 4), tmp_path / "items.pt")
    with pytest.raises(ConfigError, match=r"graphrec-cl\[faiss\]"):
        build_semantic_index(PrecomputedSource(tmp_path / "items.pt"), split, k_items=2, k_windows=2,
                             backend=FaissSearch(index="hnsw"))
    model = SRACL.build(split.num_items, max_len=6, semantics="precomputed", semantic_file=str(tmp_path / "items.pt"),
                        semantic_cache="none", k_items=2, k_windows=2, retrieval="faiss")  # configuring needs no faiss
    with pytest.raises(ConfigError, match=r"graphrec-cl\[faiss\]"):
        model.prepare(dataset, split)
    assert semantic_topk(x, x, 2)[1].shape == (6, 2)  # the exact default needs nothing
    code = "import sys, recsys.semantic, recsys.models; assert 'faiss' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
