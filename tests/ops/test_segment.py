import pytest
import torch

from graphcl.ops import one_hot_assignment, segment_count, segment_mean, segment_sum


def test_segment_sum_and_mean_against_loops():
    torch.manual_seed(0)
    src = torch.randn(12, 3)
    index = torch.tensor([0, 2, 2, 0, 4, 4, 4, 0, 2, 0, 4, 2])
    s = segment_sum(src, index, 5)
    m = segment_mean(src, index, 5)
    for c in range(5):
        members = src[index == c]
        expected_sum = members.sum(0) if len(members) else torch.zeros(3)
        torch.testing.assert_close(s[c], expected_sum)
        torch.testing.assert_close(m[c], members.mean(0) if len(members) else torch.zeros(3))
    assert torch.isfinite(m).all()  # empty segments 1 and 3 are 0, not NaN
    assert segment_count(index, 5).tolist() == [4, 0, 4, 0, 4]


def test_one_hot_assignment_sums_like_segment_sum():
    index = torch.tensor([1, 0, 1, 2])
    src = torch.randn(4, 2)
    a = one_hot_assignment(index, 3)
    torch.testing.assert_close(torch.sparse.mm(a.t(), src), segment_sum(src, index, 3))


def test_segment_validation():
    with pytest.raises(ValueError, match="rows"):
        segment_sum(torch.randn(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="num_segments"):
        segment_sum(torch.randn(2, 2), torch.tensor([0, 5]), 3)
    with pytest.raises(ValueError, match="non-negative"):
        segment_mean(torch.randn(2, 2), torch.tensor([0, -1]))


def test_segment_validation_of_index_dtype_and_num_segments():
    with pytest.raises(ValueError, match="integer segment ids"):
        segment_sum(torch.randn(3, 2), torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="integer segment ids"):
        segment_count(torch.tensor([True, False]))
    with pytest.raises(ValueError, match="num_segments must be an int"):
        segment_mean(torch.randn(2, 2), torch.tensor([0, 1]), 2.5)
    with pytest.raises(ValueError, match="1-D tensor"):
        segment_sum(torch.randn(2, 2), [0, 1])
