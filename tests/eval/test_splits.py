import pytest
import torch

from graphcl.eval.splits import as_index_splits, random_node_split, splits_from_masks


@pytest.mark.parametrize(
    ("num_nodes", "train_ratio", "val_ratio", "sizes"),
    [
        (100, 0.1, 0.1, (10, 10, 80)),
        (2708, 0.1, 0.1, (270, 270, 2168)),  # Cora under the GRACE 10/10/80 protocol
        (50, 0.2, 0.3, (10, 15, 25)),  # unequal val/test sizes catch a swapped return order
        (10, 0.5, 0.0, (5, 0, 5)),
    ],
)
def test_random_node_split_sizes(num_nodes, train_ratio, val_ratio, sizes):
    train, val, test = random_node_split(num_nodes, train_ratio, val_ratio, seed=3)
    assert (train.numel(), val.numel(), test.numel()) == sizes
    assert train.dtype == val.dtype == test.dtype == torch.long


def test_random_node_split_is_a_disjoint_cover():
    train, val, test = random_node_split(97, 0.3, 0.2, seed=1)
    everything = torch.cat([train, val, test])
    assert torch.equal(everything.sort().values, torch.arange(97))


def test_random_node_split_is_seed_deterministic():
    first = random_node_split(200, seed=7)
    again = random_node_split(200, seed=7)
    other = random_node_split(200, seed=8)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_random_node_split_leaves_global_rng_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    random_node_split(500, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize(
    ("num_nodes", "train_ratio", "val_ratio"),
    [(10, 0.0, 0.1), (10, 1.0, 0.0), (10, 0.1, -0.1), (10, 0.5, 0.5), (5, 0.1, 0.1), (0, 0.1, 0.1)],
)
def test_random_node_split_rejects_bad_ratios(num_nodes, train_ratio, val_ratio):
    with pytest.raises(ValueError):
        random_node_split(num_nodes, train_ratio, val_ratio)


def test_splits_from_2d_masks_broadcast_a_shared_1d_test_mask():
    # WikiCS layout: 2-D train/val masks (one column per split) and a single 1-D test mask.
    n = 8
    train = torch.zeros(n, 2, dtype=torch.bool)
    val = torch.zeros(n, 2, dtype=torch.bool)
    train[[0, 1], 0] = True
    val[[2, 3], 0] = True
    train[[2, 3], 1] = True
    val[[0, 1], 1] = True
    test = torch.zeros(n, dtype=torch.bool)
    test[4:] = True
    splits = splits_from_masks(train, val, test, num_nodes=n)
    assert len(splits) == 2
    assert splits[1][0].tolist() == [2, 3] and splits[1][1].tolist() == [0, 1]
    assert all(s[2].tolist() == [4, 5, 6, 7] for s in splits)


def test_as_index_splits_accepts_one_triple_or_a_list_of_triples():
    n = 6
    one = as_index_splits(([0, 1], [2], [3, 4, 5]), num_nodes=n)
    assert len(one) == 1 and one[0][2].tolist() == [3, 4, 5]
    many = as_index_splits([(torch.tensor([0]), torch.tensor([1]), torch.tensor([2, 3])),
                            ([4], [], [5])], num_nodes=n)
    assert len(many) == 2 and many[1][1].numel() == 0


@pytest.mark.parametrize(
    "triple",
    [
        ([0, 1], [1], [2, 3]),  # train and val overlap
        ([0, 9], [1], [2, 3]),  # index out of range
        ([], [1], [2, 3]),  # empty training split
        ([0], [1], []),  # empty test split
        (torch.ones(5, dtype=torch.bool), [], [5]),  # mask of the wrong length
        ([0.5], [1], [2]),  # non-integer indices
    ],
)
def test_bad_given_splits_raise(triple):
    with pytest.raises(ValueError):
        as_index_splits(triple, num_nodes=6)
