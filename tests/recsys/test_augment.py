"""Batched augmentations: invariants per operator and the two-distinct-operators rule."""
from __future__ import annotations

import pytest
import torch

from graphcl.errors import ConfigError
from recsys.augment import (
    Crop,
    Insert,
    Mask,
    Reorder,
    Substitute,
    TwoViews,
    make_operators,
    realign,
)
from recsys.data import SequenceBatch


def _batch(b=64, length=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (b,), generator=g)
    # distinct items per row so that multisets identify positions
    seq = torch.arange(1, length + 1).repeat(b, 1) + 100 * torch.arange(b)[:, None]
    seq = torch.where(torch.arange(length)[None] < lengths[:, None], seq, 0)
    return seq, lengths


def _rows(seq, lengths):
    return [seq[i, : lengths[i]].tolist() for i in range(seq.size(0))]


def test_crop_keeps_a_contiguous_half():
    torch.manual_seed(0)
    seq, lengths = _batch()
    out, new = Crop(0.5)(seq, lengths)
    assert torch.equal(new, (lengths // 2).clamp(min=1))
    for row, orig in zip(_rows(out, new), _rows(seq, lengths)):
        start = orig.index(row[0])
        assert orig[start:start + len(row)] == row
    assert bool((out[torch.arange(64)[:, None].expand(-1, 12) >= 0] >= 0).all())
    assert bool((out * (torch.arange(12)[None] >= new[:, None])).eq(0).all())  # zero padding after


def test_mask_zeroes_floor_ratio_positions():
    torch.manual_seed(0)
    seq, lengths = _batch()
    out, new = Mask(0.5)(seq, lengths)
    assert torch.equal(new, lengths)
    changed = (out != seq).sum(1)
    assert torch.equal(changed, lengths // 2)
    assert bool(((out == seq) | (out == 0)).all())


def test_reorder_permutes_one_window():
    torch.manual_seed(0)
    seq, lengths = _batch()
    out, new = Reorder(0.8)(seq, lengths)
    for row, orig, n in zip(_rows(out, new), _rows(seq, lengths), lengths.tolist()):
        assert sorted(row) == sorted(orig)
        moved = [i for i in range(n) if row[i] != orig[i]]
        if moved:
            assert moved[-1] - moved[0] + 1 <= int(0.8 * n)


def test_substitute_and_insert_use_the_neighbour_table():
    torch.manual_seed(0)
    seq, lengths = _batch(length=10)
    num_items = int(seq.max())
    table = torch.full((num_items + 1, 2), 7)  # every neighbour is item 7
    out, new = Substitute(0.5, num_items, table)(seq, lengths)
    assert torch.equal(new, lengths) and torch.equal((out == 7).sum(1), (seq == 7).sum(1) + (out != seq).sum(1))
    out, new = Insert(0.5, num_items, table)(seq, lengths)
    assert torch.equal(new, (lengths + lengths // 2).clamp(max=10))
    for row, orig in zip(_rows(out, new), _rows(seq, lengths)):
        kept = [x for x in row if x != 7]
        assert kept == orig[len(orig) - len(kept):]  # order kept; oldest dropped when too long


def test_insert_ratio_one_keeps_the_most_recent_item():
    # [1 2 3 4] with item 9 inserted before every position -> [9 1 9 2 9 3 9 4]; the window keeps the last 4
    # (the newest real item used to land in the zeroed dump column: [9, 3, 9, 0]).
    table = torch.full((10, 1), 9)
    out, n = Insert(1.0, neighbours=table)(torch.tensor([[1, 2, 3, 4]]), torch.tensor([4]))
    assert out.tolist() == [[9, 3, 9, 4]] and n.tolist() == [4]
    out, n = Insert(1.0, neighbours=table, padding="left")(torch.tensor([[0, 1, 2], [1, 2, 3]]), torch.tensor([2, 3]))
    assert out.tolist() == [[1, 9, 2], [2, 9, 3]] and n.tolist() == [3, 3]
    seq, lengths = _batch(length=6)
    out, new = Insert(1.0, neighbours=torch.full((int(seq.max()) + 1, 1), 7))(seq, lengths)
    assert torch.equal(new, (2 * lengths).clamp(max=6))
    for row, orig in zip(_rows(out, new), _rows(seq, lengths)):
        assert row[1::2] == orig[len(orig) - len(row) // 2:] and set(row[0::2]) == {7}


def test_insert_below_ratio_one_is_unchanged():
    # Outputs recorded before the ratio-1 fix (wider scratch buffer): ratios < 1 never reach the last column.
    seq = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 0], [10, 11, 0, 0, 0], [12, 0, 0, 0, 0],
                        [13, 14, 15, 16, 17], [18, 19, 20, 0, 0]])
    lengths = torch.tensor([5, 4, 2, 1, 5, 3])
    expected = {
        0.2: ([[2, 24, 3, 4, 5], [6, 7, 8, 9, 0], [10, 11, 0, 0, 0], [12, 0, 0, 0, 0], [14, 24, 15, 16, 17],
               [18, 19, 20, 0, 0]], [5, 4, 2, 1, 5, 3]),
        0.5: ([[24, 3, 1, 4, 5], [23, 7, 8, 12, 9], [9, 10, 11, 0, 0], [12, 0, 0, 0, 0], [24, 15, 16, 12, 17],
               [18, 19, 17, 20, 0]], [5, 5, 3, 1, 5, 4]),
        0.99: ([[3, 1, 4, 26, 5], [23, 7, 8, 12, 9], [9, 10, 11, 0, 0], [12, 0, 0, 0, 0], [15, 2, 16, 12, 17],
                [21, 18, 19, 17, 20]], [5, 5, 3, 1, 5, 5]),
    }
    for ratio, (rows, lens) in expected.items():
        out, n = Insert(ratio, num_items=30, generator=torch.Generator().manual_seed(0))(seq, lengths)
        assert out.tolist() == rows and n.tolist() == lens, ratio


def test_left_padding_round_trip_and_transform_interface():
    torch.manual_seed(0)
    seq, lengths = _batch()
    left = realign(seq, lengths, "right", "left")
    assert torch.equal(realign(left, lengths, "left", "right"), seq)
    torch.manual_seed(1)
    right_out = Crop(0.5)(seq, lengths)
    torch.manual_seed(1)
    left_out = Crop(0.5, padding="left")(left, lengths)
    assert torch.equal(realign(left_out[0], left_out[1], "left", "right"), right_out[0])
    batch = SequenceBatch(seq, lengths, lengths, lengths)
    assert isinstance(Mask()(batch), SequenceBatch)


def test_two_views_use_two_distinct_operators():
    torch.manual_seed(0)
    seq, lengths = _batch(b=512, length=20)
    lengths = lengths.clamp(min=6)
    seq = torch.where(torch.arange(20)[None] < lengths[:, None], torch.arange(1, 21).repeat(512, 1), 0)
    (s1, l1), (s2, l2) = TwoViews(make_operators(["crop", "mask", "reorder"]))(seq, lengths)

    def kind(s, ln, i):
        if int(ln[i]) != int(lengths[i]):
            return "crop"
        if int((s[i] == 0).sum()) > int((seq[i] == 0).sum()):
            return "mask"
        return "reorder"

    kinds = [(kind(s1, l1, i), kind(s2, l2, i)) for i in range(512)]
    assert all(a != b for a, b in kinds)
    assert {a for a, _ in kinds} == {"crop", "mask", "reorder"}
    short = torch.tensor([[5, 0, 0]]), torch.tensor([1])
    (a, _), (b, _) = TwoViews(make_operators(["crop", "mask"]))(*short)
    assert torch.equal(a, short[0]) and torch.equal(b, short[0])


def test_bad_operator_names_and_ratios():
    with pytest.raises(ConfigError, match="unknown augmentation"):
        make_operators(["crop", "blur"])
    with pytest.raises(ConfigError, match="distinct"):
        make_operators(["crop", "crop"])
    with pytest.raises(ConfigError):
        Mask(1.5)
    with pytest.raises(ConfigError):
        TwoViews([Crop()])


def test_correlated_operators_need_an_item_range_and_a_valid_table():
    # Without a table the random items come from 1..num_items: no silent default of "always item 1".
    with pytest.raises(ConfigError, match="Substitute needs num_items"):
        Substitute(0.5)
    with pytest.raises(ConfigError, match="Insert needs num_items"):
        make_operators(["crop", "insert"])
    seq, lengths = _batch(length=10)
    num_items = int(seq.max())
    torch.manual_seed(0)
    out, _ = Substitute(1.0, num_items)(seq, lengths)
    assert out.max() <= num_items and len(set(out[out > 0].tolist())) > 10
    # With a table, num_items is read from it; -1 slots (a semantic index) and wrong shapes are rejected.
    table = torch.full((num_items + 1, 2), 7)
    assert Insert(0.5, neighbours=table).num_items == num_items
    with pytest.raises(ConfigError, match=r"neighbour ids must lie in 1\.\.5"):
        Substitute(0.5, 5, torch.tensor([[-1], [2], [-1], [1], [1], [2]]))
    with pytest.raises(ConfigError, match=r"\[6, k\]"):
        Substitute(0.5, 5, torch.ones(4, 2, dtype=torch.long))
    with pytest.raises(ConfigError, match="long tensor"):
        Insert(0.5, 5, torch.ones(6, 2))
