import pytest
import torch

from graphcl.ops import kmeans


def blobs(seed=0, n=60, k=3, d=4):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, d, generator=g) * 10
    labels = torch.arange(n) % k
    return centers[labels] + torch.randn(n, d, generator=g), labels


def test_recovers_separated_blobs():
    x, y = blobs()
    res = kmeans(x, 3, n_init=3, seed=0)
    # every true blob maps to exactly one cluster
    pairs = {(int(a), int(b)) for a, b in zip(y, res.labels)}
    assert len(pairs) == 3
    assert res.centroids.shape == (3, 4)


def test_seeded_and_does_not_touch_global_rng():
    x, _ = blobs(1)
    state = torch.random.get_rng_state()
    a, b = kmeans(x, 5, seed=7), kmeans(x, 5, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.labels, b.labels)
    assert a.inertia == b.inertia


def test_inertia_close_to_sklearn():
    from sklearn.cluster import KMeans

    x, _ = blobs(2, n=200, k=4)
    ours = kmeans(x, 4, n_init=5, seed=0)
    ref = KMeans(4, n_init=5, random_state=0).fit(x.numpy())
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-3)
    torch.testing.assert_close(((x - ours.centroids[ours.labels]) ** 2).sum(), torch.tensor(ours.inertia))


def test_no_empty_clusters_with_duplicates_and_spherical():
    x = torch.cat([torch.zeros(10, 2), torch.ones(3, 2), torch.tensor([[5.0, -5.0]])])
    res = kmeans(x, 3, seed=0)
    assert torch.bincount(res.labels, minlength=3).min() > 0
    sph = kmeans(torch.randn(50, 3), 4, spherical=True, seed=1)
    torch.testing.assert_close(sph.centroids.norm(dim=1), torch.ones(4))


def test_random_init_starts_from_distinct_points_and_recovers_blobs():
    x, y = blobs(3, n=90, k=3)
    one = kmeans(x, 3, n_init=5, seed=4, init="random")
    assert len({(int(a), int(b)) for a, b in zip(y, one.labels)}) == 3
    assert torch.equal(one.labels, kmeans(x, 3, n_init=5, seed=4, init="random").labels)
    # Seeded by k distinct rows (faiss's rule): one Lloyd step from k = N rows leaves every point alone.
    points = torch.randn(12, 3)
    alone = kmeans(points, 12, max_iter=1, seed=0, init="random")
    assert sorted(alone.labels.tolist()) == list(range(12)) and alone.inertia == pytest.approx(0.0, abs=1e-5)


def test_validation():
    with pytest.raises(ValueError, match="k must be"):
        kmeans(torch.randn(3, 2), 4)
    with pytest.raises(ValueError, match="NaN"):
        kmeans(torch.tensor([[float("nan"), 0.0], [0.0, 0.0]]), 1)


def test_validation_names_the_argument():
    x = torch.randn(6, 2)
    for bad_k in (2.5, True, "3"):
        with pytest.raises(ValueError, match="k must be an int"):
            kmeans(x, bad_k)
    for name, kwargs in (("n_init", {"n_init": 0}), ("max_iter", {"max_iter": 1.5}), ("chunk_size", {"chunk_size": 0}),
                         ("tol", {"tol": float("nan")}), ("init", {"init": "kmeans++"})):
        with pytest.raises(ValueError, match=name):
            kmeans(x, 2, **kwargs)
    with pytest.raises(ValueError, match="x must be a 2-D tensor"):
        kmeans([[0.0, 1.0], [1.0, 0.0]], 1)
