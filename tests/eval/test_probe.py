import math

import numpy as np
import pytest
import torch

from graphcl.eval import linear_probe


def _blobs(num_nodes: int, num_classes: int, dim: int, spread: float, seed: int = 0):
    gen = np.random.default_rng(seed)
    y = gen.integers(0, num_classes, size=num_nodes)
    centres = gen.standard_normal((num_classes, dim)) * 3
    return centres[y] + spread * gen.standard_normal((num_nodes, dim)), y


def test_separable_embeddings_are_classified_perfectly():
    z, y = _blobs(300, 3, 8, spread=0.1)
    out = linear_probe(torch.tensor(z, dtype=torch.float32), torch.tensor(y), repeats=3)
    assert set(out) == {"test_acc", "val_acc"}
    assert len(out["test_acc"]["values"]) == 3
    assert out["test_acc"]["mean"] > 0.98


def test_random_noise_is_at_chance():
    gen = np.random.default_rng(1)
    z = gen.standard_normal((600, 16))
    y = gen.integers(0, 4, size=600)
    out = linear_probe(z, y, repeats=3)
    assert abs(out["test_acc"]["mean"] - 0.25) < 0.08
    assert all(0.0 <= v <= 1.0 for v in out["test_acc"]["values"] + out["val_acc"]["values"])


def test_repeats_use_different_splits_and_are_reproducible():
    z, y = _blobs(200, 4, 6, spread=2.0, seed=2)
    first = linear_probe(z, y, repeats=3, seed=5)
    again = linear_probe(z, y, repeats=3, seed=5)
    assert first == again
    assert len(set(first["test_acc"]["values"])) > 1


def test_given_2d_masks_give_one_value_per_column():
    z, y = _blobs(60, 2, 4, spread=0.1, seed=3)
    train = torch.zeros(60, 2, dtype=torch.bool)
    val = torch.zeros(60, 2, dtype=torch.bool)
    train[:20, 0], val[20:30, 0] = True, True
    train[20:40, 1], val[:10, 1] = True, True
    test = torch.zeros(60, dtype=torch.bool)
    test[40:] = True
    out = linear_probe(z, y, splits=(train, val, test), repeats=99)
    assert len(out["test_acc"]["values"]) == 2
    assert out["test_acc"]["mean"] == 1.0


def test_class_missing_from_the_training_split_does_not_crash():
    z, y = _blobs(40, 3, 4, spread=0.1, seed=4)
    y[y == 2] = 1  # two classes left
    y[-1] = 2  # one node of a third class, kept out of training
    train = np.arange(0, 20)
    val = np.arange(20, 30)
    test = np.arange(30, 40)
    out = linear_probe(z, y, splits=[(train, val, test)])
    # The lone class-2 test node is necessarily misclassified; everything else is separable.
    assert out["test_acc"]["mean"] == pytest.approx(9 / 10)


def test_single_class_training_split_predicts_that_class():
    y = np.array([0, 0, 0, 0, 1, 0, 1, 0])
    z = np.eye(8)
    out = linear_probe(z, y, splits=([0, 1], [2, 3], [4, 5, 6, 7]))
    assert out["test_acc"]["values"] == [0.5]
    assert out["val_acc"]["values"] == [1.0]


def test_without_validation_nodes_a_single_c_is_required():
    z, y = _blobs(50, 2, 4, spread=0.1, seed=6)
    with pytest.raises(ValueError, match="validation"):
        linear_probe(z, y, val_ratio=0.0, repeats=1)
    out = linear_probe(z, y, train_ratio=0.4, val_ratio=0.0, repeats=1, C_grid=(1.0,))
    assert out["test_acc"]["mean"] == 1.0
    assert math.isnan(out["val_acc"]["mean"])


@pytest.mark.parametrize(
    ("z", "y", "kwargs"),
    [
        (np.zeros((10, 2)), np.zeros(9), {}),  # length mismatch
        (np.zeros(10), np.zeros(10), {}),  # 1-D embeddings
        (np.full((10, 2), np.nan), np.zeros(10), {}),  # NaN embeddings
        (np.zeros((10, 2)), np.zeros(10), {"C_grid": (0.0,)}),
        (np.zeros((10, 2)), np.zeros(10), {"repeats": 0}),
    ],
)
def test_bad_input_raises(z, y, kwargs):
    with pytest.raises(ValueError):
        linear_probe(z, y, **kwargs)
