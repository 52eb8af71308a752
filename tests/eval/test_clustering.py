import numpy as np
import pytest
import torch

from graphcl.eval import cluster_accuracy, clustering_scores, kmeans_clustering


def test_permuted_labelling_is_perfect():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [2, 2, 0, 0, 1, 1]
    assert cluster_accuracy(y_true, y_pred) == 1.0
    assert clustering_scores(y_true, y_pred) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "f1": 1.0})


def test_label_values_need_not_be_integers():
    assert cluster_accuracy(np.array(["a", "a", "b"]), torch.tensor([7, 7, 3])) == 1.0


def test_known_confusion_matches_hand_computation():
    # Contingency [[2, 1], [1, 2]]: the best matching keeps the diagonal, 4 of 6 correct.
    y_true = [0, 0, 0, 1, 1, 1]
    y_pred = [0, 0, 1, 1, 1, 0]
    scores = clustering_scores(y_true, y_pred)
    assert scores["acc"] == pytest.approx(4 / 6)
    # Each class: precision = recall = 2/3.
    assert scores["f1"] == pytest.approx(2 / 3)
    # ARI = (2 - 36/15) / (6 - 36/15) = -1/9.
    assert scores["ari"] == pytest.approx(-1 / 9)


def test_more_clusters_than_classes_count_unmatched_clusters_as_wrong():
    y_true = [0, 0, 1, 1]
    y_pred = [0, 1, 2, 2]  # cluster 1 is left unmatched
    scores = clustering_scores(y_true, y_pred)
    assert scores["acc"] == pytest.approx(3 / 4)
    # class 0: P = 1, R = 1/2, F1 = 2/3; class 1: F1 = 1.
    assert scores["f1"] == pytest.approx((2 / 3 + 1) / 2)


def test_fewer_clusters_than_classes():
    assert cluster_accuracy([0, 1, 2, 2], [5, 5, 5, 5]) == pytest.approx(2 / 4)
    assert clustering_scores([0, 1, 2], [0, 0, 0])["f1"] == pytest.approx((1 / 2 + 0 + 0) / 3)


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="y_pred"):
        cluster_accuracy([0, 1, 1], [0, 1])


def _blobs(seed: int = 0):
    gen = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 30)
    centres = np.array([[10.0, 0, 0], [0, 10.0, 0], [0, 0, 10.0]])
    return centres[y] + 0.3 * gen.standard_normal((90, 3)), y


def test_kmeans_recovers_separated_blobs():
    z, y = _blobs()
    out = kmeans_clustering(torch.tensor(z), torch.tensor(y), repeats=3, n_init=2)
    assert set(out) == {"acc", "nmi", "ari", "f1"}
    for summary in out.values():
        assert len(summary["values"]) == 3
        assert summary["mean"] == pytest.approx(1.0)


def test_kmeans_is_seed_deterministic_and_honours_n_clusters():
    gen = np.random.default_rng(1)
    z, y = gen.standard_normal((60, 4)), gen.integers(0, 3, size=60)
    first = kmeans_clustering(z, y, repeats=2, seed=4, n_init=2)
    assert first == kmeans_clustering(z, y, repeats=2, seed=4, n_init=2)
    many = kmeans_clustering(z, y, n_clusters=60, repeats=1, n_init=1)
    assert many["acc"]["mean"] == pytest.approx(3 / 60)  # singletons: only 3 clusters can be matched


def test_kmeans_normalize_clusters_by_direction():
    # Two directions at very different scales: plain k-means splits by norm, spherical by direction.
    y = np.repeat([0, 1], 20)
    scale = np.tile(np.r_[np.ones(10), 100 * np.ones(10)], 2)
    z = np.stack([np.where(y == 0, 1.0, 0.0), np.where(y == 1, 1.0, 0.0)], 1) * scale[:, None]
    assert kmeans_clustering(z, y, repeats=1, normalize=True, n_init=2)["acc"]["mean"] == 1.0
    assert kmeans_clustering(z, y, repeats=1, normalize=False, n_init=2)["acc"]["mean"] < 1.0


@pytest.mark.parametrize("kwargs", [{"n_clusters": 0}, {"n_clusters": 1000}, {"repeats": 0}])
def test_kmeans_bad_arguments_raise(kwargs):
    z, y = _blobs()
    with pytest.raises(ValueError):
        kmeans_clustering(z, y, **kwargs)


def test_kmeans_clustering_threads_follow_torch_by_default(monkeypatch):
    """k-means runs with torch's thread count unless told otherwise (not scikit-learn's every core)."""
    import threadpoolctl

    seen = []
    real = threadpoolctl.threadpool_limits

    def recording(limits=None, **kw):
        seen.append(limits)
        return real(limits=limits, **kw)

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", recording)
    z, y = torch.randn(30, 4), torch.arange(30) % 3
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        kmeans_clustering(z, y, repeats=2, n_init=1)
        kmeans_clustering(z, y, repeats=1, n_init=1, n_threads=2)
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1, 2]
