"""Tests for :func:`graphcl.functional.mask_feature_weighted`."""
from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.utils import mask_feature

from graphcl.functional import mask_feature_weighted


def _within_sigmas(observed: float, p: float, n: int, sigmas: float = 5.0) -> bool:
    return abs(observed - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_col_mode_masks_whole_columns() -> None:
    torch.manual_seed(0)
    x = torch.randn(20, 50) + 10  # no entry equals the fill value by chance
    out, mask = mask_feature_weighted(x, torch.full((50,), 0.5), fill_value=-1.0)
    assert mask.shape == (1, 50) and mask.dtype == torch.bool
    assert torch.equal(out[:, mask[0]], x[:, mask[0]])
    assert (out[:, ~mask[0]] == -1.0).all()


def test_col_mode_rate_matches_p_statistically() -> None:
    torch.manual_seed(1)
    x = torch.ones(4, 100)
    p = torch.full((100,), 0.3)
    masked = torch.stack([~mask_feature_weighted(x, p)[1][0] for _ in range(200)]).float()
    assert _within_sigmas(masked.mean().item(), 0.3, masked.numel())


def test_col_mode_per_column_probabilities() -> None:
    torch.manual_seed(2)
    x = torch.ones(2, 100)
    p = torch.cat([torch.full((50,), 0.1), torch.full((50,), 0.7)])
    masked = torch.stack([~mask_feature_weighted(x, p)[1][0] for _ in range(200)]).float()
    assert _within_sigmas(masked[:, :50].mean().item(), 0.1, 50 * 200)
    assert _within_sigmas(masked[:, 50:].mean().item(), 0.7, 50 * 200)


def test_probabilities_zero_and_one_are_exact() -> None:
    x = torch.arange(12.0).view(3, 4) + 1
    out, mask = mask_feature_weighted(x, torch.tensor([0.0, 1.0, 0.0, 1.0]))
    assert mask.tolist() == [[True, False, True, False]]
    assert torch.equal(out, x * torch.tensor([1.0, 0.0, 1.0, 0.0]))


def test_row_mode_masks_whole_nodes() -> None:
    x = torch.ones(3, 4)
    out, mask = mask_feature_weighted(x, torch.tensor([1.0, 0.0, 1.0]), mode="row")
    assert mask.shape == (3, 1)
    assert out.tolist() == [[0.0] * 4, [1.0] * 4, [0.0] * 4]


@pytest.mark.parametrize("p_shape", [(30, 40), (40,), (30, 1), ()])
def test_all_mode_accepts_broadcastable_p(p_shape: tuple[int, ...]) -> None:
    torch.manual_seed(3)
    x = torch.ones(30, 40)
    out, mask = mask_feature_weighted(x, torch.full(p_shape, 0.5), mode="all")
    assert mask.shape == (30, 40)
    assert torch.equal(out, mask.float())
    # Per-entry draws: not every row equal (as 'col' would give) nor every column (as 'row' would give).
    assert not (mask == mask[:1]).all() and not (mask == mask[:, :1]).all()


@pytest.mark.parametrize("mode", ["col", "row", "all"])
def test_uniform_p_reproduces_pyg_mask_feature(mode: str) -> None:
    x = torch.randn(8, 6)
    torch.manual_seed(4)
    expected_x, expected_mask = mask_feature(x, p=0.4, mode=mode)
    p = torch.full({"col": (6,), "row": (8,), "all": (8, 6)}[mode], 0.4)
    torch.manual_seed(4)
    out, mask = mask_feature_weighted(x, p, mode=mode)
    assert torch.equal(mask, expected_mask) and torch.equal(out, expected_x)


def test_input_is_not_modified() -> None:
    x = torch.randn(5, 6)
    before = x.clone()
    out, _ = mask_feature_weighted(x, torch.ones(6))
    assert torch.equal(x, before) and (out == 0).all()


@pytest.mark.parametrize("mode,shape", [("col", (1, 6)), ("row", (5, 1)), ("all", (5, 6))])
def test_training_false_is_a_no_op(mode: str, shape: tuple[int, int]) -> None:
    x = torch.randn(5, 6)
    p = torch.ones({"col": (6,), "row": (5,), "all": (5, 6)}[mode])
    out, mask = mask_feature_weighted(x, p, mode=mode, training=False)
    assert out is x and mask.shape == shape and mask.all()


def test_empty_feature_matrix() -> None:
    out, mask = mask_feature_weighted(torch.empty(0, 3), torch.full((3,), 0.5))
    assert out.shape == (0, 3) and mask.shape == (1, 3)


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(6,\).*\(5, 6\).*\(5,\)"):
        mask_feature_weighted(torch.zeros(5, 6), torch.zeros(5))
    with pytest.raises(ValueError, match=r"\(5,\).*\(5, 6\).*\(6,\)"):
        mask_feature_weighted(torch.zeros(5, 6), torch.zeros(6), mode="row")
    with pytest.raises(ValueError, match="broadcastable"):
        mask_feature_weighted(torch.zeros(5, 6), torch.zeros(5), mode="all")


@pytest.mark.parametrize("bad", [1.01, -0.5, float("nan")])
def test_probability_outside_unit_interval_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        mask_feature_weighted(torch.zeros(2, 3), torch.tensor([0.0, bad, 0.0]))


def test_bad_mode_and_bad_x_raise() -> None:
    with pytest.raises(ValueError, match="mode"):
        mask_feature_weighted(torch.zeros(2, 3), torch.zeros(3), mode="column")
    with pytest.raises(ValueError, match=r"\[N, F\]"):
        mask_feature_weighted(torch.zeros(3), torch.zeros(3))


def test_device_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="on meta"):
        mask_feature_weighted(torch.zeros(2, 3), torch.zeros(3, device="meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    out, mask = mask_feature_weighted(torch.ones(4, 5, device="cuda"), torch.full((5,), 0.5, device="cuda"))
    assert out.is_cuda and mask.is_cuda
