"""Readers, writer, leave-one-out split, batching and the generated dataset."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from graphcl.errors import DataError
from recsys.data import (
    SequenceDataset,
    batch_loader,
    leave_one_out,
    load_sequences,
    make_sequence_dataset,
    read_inter,
    read_txt,
    write_inter,
    write_txt,
)

SEQS = [[1, 2, 3, 4, 5], [3, 1, 4], [2, 5, 1, 3, 4, 6, 2]]


def _txt(tmp_path: Path, text: str, name: str = "d.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_txt_and_inter_round_trip(tmp_path):
    ds = SequenceDataset.from_sequences(SEQS)
    txt = read_txt(write_txt(ds, tmp_path / "a.txt"))
    assert txt.sequences() == SEQS and txt.num_items == 6
    for timestamps in (False, True):
        inter = read_inter(write_inter(txt, tmp_path / "a.inter", timestamps=timestamps))
        # ids are remapped in order of first appearance: 1 2 3 4 5 then 6
        assert inter.sequences() == SEQS
        assert inter.user_ids == ["1", "2", "3"]


def test_inter_sorts_by_timestamp_and_remaps_tokens(tmp_path):
    path = _txt(tmp_path, "user_id:token\titem_id:token\ttimestamp:float\n"
                          "u1\tB\t3\nu1\tA\t1\nu2\tC\t5\nu1\tC\t2\nu2\tA\t4\nu2\tB\t6\n", "x.inter")
    ds = read_inter(path)
    # first appearance order of items: B=1, A=2, C=3; users u1, u2
    assert ds.sequences() == [[2, 3, 1], [2, 3, 1]]
    assert ds.item_tokens == ["[PAD]", "B", "A", "C"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 1 2 3\n\n2 1 2 3\n", "line 2: empty line"),
        ("1 1 x 3\n", "line 1, field 3: item id 'x'"),
        ("1 1 2\n", "line 1: user '1' has 2 interaction"),
        ("1\n", "line 1: user '1' has no items"),
        ("1 1 0 2\n", "line 1, field 3: item id 0 is not positive"),
        ("1 1 2 3\n1 2 3 4\n", "line 2: user '1' already appeared on line 1"),
        ("", "holds no users"),
    ],
)
def test_txt_errors_name_line_and_field(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_txt(_txt(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user_id\titem_id\n1\t2\n", "line 1, field 1: header entry 'user_id' is not of the form"),
        ("user_id:token\tstamp:float\n1\t2\n", "no 'item_id:token' column"),
        ("user_id:token\titem_id:float\n1\t2\n", "'item_id' must have type 'token'"),
        ("user_id:token\titem_id:token\n1\t2\n1\n", "line 3: expected 2 tab-separated fields"),
        ("user_id:token\titem_id:token\ttimestamp:float\n1\t2\tnoon\n", "line 2, field 'timestamp:float'"),
        ("user_id:token\titem_id:token\n1\t2\n1\t3\n", "line 2, field 'user_id:token': user '1' has 2"),
        ("user_id:token\titem_id:token\n", "header but no interactions"),
        ("user_id:token\titem_id:token\titem_id:token\n1\t2\t3\n", "field 3: column 'item_id' already appeared"),
    ],
)
def test_inter_errors(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_inter(_txt(tmp_path, text, "bad.inter"))


def test_txt_reader_recognises_an_interaction_pair_file(tmp_path):
    # SRA-CL ships "uid iid" pairs, one interaction per line: say so instead of a bare "too short" / "twice".
    pairs = _txt(tmp_path, "1 5\n1 7\n1 9\n2 5\n", "Beauty.txt")
    with pytest.raises(DataError, match=r"line 1: user '1' has 1 interaction.*looks like one 'user_id item_id'"):
        read_txt(pairs)
    with pytest.raises(DataError, match=r"line 2: user '1' already appeared on line 1; the line looks like one"):
        read_txt(pairs, min_length=1)
    with pytest.raises(DataError) as info:  # a genuine short user of a sequence file gets no such hint
        read_txt(_txt(tmp_path, "1 1 2\n"))
    assert "looks like" not in str(info.value)


def test_missing_file_and_unknown_source(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_txt(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="neither a file nor a known dataset"):
        load_sequences("nope")
    with pytest.raises(DataError, match="needs --root"):
        load_sequences("beauty")


def test_leave_one_out_counts_windows_and_padding():
    ds = SequenceDataset.from_sequences(SEQS)
    split = leave_one_out(ds, max_len=3, padding="right")
    assert len(split.train) == sum(len(s) - 3 for s in SEQS) == 6
    assert split.test.target.tolist() == [5, 4, 2]
    assert split.valid.target.tolist() == [4, 1, 6]
    # user 3, test: last 3 items before the target 2 -> [4, 6]... i.e. window [3, 4, 6]
    assert split.test.item_seq[2].tolist() == [3, 4, 6] and split.test.item_seq_len[2] == 3
    # user 1, first training sample: input [1], target 2
    assert split.train.item_seq[0].tolist() == [1, 0, 0] and split.train.target[0] == 2
    left = leave_one_out(ds, max_len=3, padding="left")
    assert left.train.item_seq[0].tolist() == [0, 0, 1]
    assert left.valid.item_seq[1].tolist() == [0, 0, 3]
    # same items either way
    for a, b in ((split.train, left.train), (split.test, left.test)):
        assert torch.equal(a.item_seq.sort(1).values, b.item_seq.sort(1).values)


def test_short_users_are_skipped_and_logged(caplog):
    ds = SequenceDataset.from_sequences([[1, 2], [1, 2, 3, 4]])
    with caplog.at_level(logging.WARNING, logger="recsys.data"):
        split = leave_one_out(ds, max_len=5)
    assert split.skipped_users == 1 and "skipped 1 of 2 users" in caplog.text
    assert len(split.test) == 1
    with pytest.raises(DataError, match="no user has the 3 items"):
        leave_one_out(SequenceDataset.from_sequences([[1, 2]]))


def test_batch_loader_covers_every_sample_once_and_caps():
    ds = make_sequence_dataset(num_users=100, num_items=50, num_clusters=5)
    split = leave_one_out(ds, max_len=20)
    seen = torch.cat([b.target for b in batch_loader(split.train, 64, seed=0)])
    assert seen.numel() == len(split.train)
    assert sorted(seen.tolist()) == sorted(split.train.target.tolist())
    capped = batch_loader(split.train, 16, seed=0, max_batches=3)
    assert len(capped) == 3 and len(list(capped)) == 3


def test_generated_dataset_is_seeded_and_titled():
    a, b = make_sequence_dataset(seed=3), make_sequence_dataset(seed=3)
    assert torch.equal(a.items, b.items) and a.item_titles == b.item_titles
    assert len(a.item_titles) == a.num_items + 1 and a.item_titles[0] == ""
    assert int(a.lengths.min()) >= 5
    assert not torch.equal(a.items[:100], make_sequence_dataset(seed=4).items[:100])


@pytest.mark.data
def test_beauty_readers_agree_and_split_counts(shared_data, tmp_path):
    path = shared_data / "seqrec" / "Beauty.txt"
    if not path.is_file():
        pytest.skip("Beauty.txt not staged")
    txt = read_txt(path)
    stats = txt.statistics()
    assert (stats["users"], stats["items"], stats["interactions"]) == (22363, 12101, 198502)
    inter = read_inter(write_inter(txt, tmp_path / "Amazon_Beauty.inter"))
    assert torch.equal(inter.items, txt.items) and torch.equal(inter.offsets, txt.offsets)
    split = leave_one_out(txt, max_len=50)
    assert len(split.train) == 131413 and len(split.valid) == len(split.test) == 22363


def test_a_txt_picks_up_the_item_attributes_file_beside_it(tmp_path):
    import json

    _txt(tmp_path, "1 1 2 3\n2 3 2 1\n", name="Shop.txt")
    assert load_sequences(tmp_path / "Shop.txt").item_attributes is None
    (tmp_path / "Shop_item2attributes.json").write_text(json.dumps({"1": [7, 8], "3": [8]}))
    data = load_sequences(tmp_path / "Shop.txt")
    assert data.item_attributes == [[], [7, 8], [], [8]]
    (tmp_path / "Shop_item2attributes.json").write_text(json.dumps({"9": [1]}))
    with pytest.raises(DataError, match=r"Shop_item2attributes\.json: attributes given for item ids outside"):
        load_sequences(tmp_path / "Shop.txt")
    with pytest.raises(DataError, match="item_attributes needs num_items"):
        SequenceDataset.from_sequences([[1, 2, 3]], item_attributes=[[], [1]])


@pytest.mark.parametrize("padding", ["right", "left"])
def test_split_samples_gather_their_windows_per_batch(padding):
    from recsys.data import SequenceSamples

    ds = make_sequence_dataset(num_users=40, num_items=30, num_clusters=3, seed=2, min_length=3, max_length=15)
    split = leave_one_out(ds, max_len=6, padding=padding)
    seqs = ds.sequences()
    # The definition, sample by sample from Python lists: the last max_len items before the target.
    rows, targets = [], []
    for seq in seqs:
        for pos in range(1, len(seq) - 2):
            window = seq[:pos][-6:]
            rows.append(window + [0] * (6 - len(window)) if padding == "right" else [0] * (6 - len(window)) + window)
            targets.append(seq[pos])
    assert not split.train.materialized and split.train.nbytes == 32 * len(split.train)  # no [N, L] windows
    assert split.train.item_seq.tolist() == rows and split.train.target.tolist() == targets
    pick = torch.tensor([5, 0, len(rows) - 1, 5])
    batch = split.train[pick]
    assert batch.item_seq.tolist() == [rows[i] for i in pick.tolist()]
    assert batch.item_seq_len.tolist() == [sum(x > 0 for x in rows[i]) for i in pick.tolist()]
    assert split.train[3].item_seq.tolist() == rows[3] and split.train[[1, 2]].target.tolist() == targets[1:3]
    assert split.test.max_item() == max(max(s[:-1][-6:] + s[-1:]) for s in seqs)
    # The hand-built (stored windows) form behaves the same.
    stored = SequenceSamples(split.train.item_seq, split.train.item_seq_len, split.train.target, split.train.user,
                             padding=padding, num_items=ds.num_items)
    assert stored.materialized and stored.max_len == split.train.max_len == 6
    assert stored.nbytes == (6 + 3) * 8 * len(stored)
    assert torch.equal(stored[pick].item_seq, batch.item_seq) and stored.max_item() == split.train.max_item()
    assert torch.equal(torch.cat([b.item_seq for b in batch_loader(split.train, 7, shuffle=False)]),
                       split.train.item_seq)


def test_window_blocks_do_not_change_the_materialised_windows(monkeypatch):
    import recsys.data.split as split_module

    split = leave_one_out(make_sequence_dataset(num_users=50, num_items=40, num_clusters=4), max_len=8)
    whole = split.train.item_seq
    monkeypatch.setattr(split_module, "WINDOW_BLOCK_ROWS", 7)
    assert torch.equal(split.train.item_seq, whole)
    assert split.train.max_item() == int(torch.cat([whole.flatten(), split.train.target]).max())


def test_generated_dataset_is_pinned_and_scales_to_large_catalogues():
    import hashlib

    default = make_sequence_dataset()
    # The vectorised draws give the same dataset as the per-user version (pinned: results were computed on it).
    assert default.num_interactions == 24076
    assert hashlib.sha256(default.items.numpy().tobytes()).hexdigest()[:16] == "88d24810daef9419"
    bare = make_sequence_dataset(titles=False)
    assert bare.item_titles is None and torch.equal(bare.items, default.items) and "titles=False" in bare.source
    big = make_sequence_dataset(num_users=3000, num_items=200_000, num_clusters=50, titles=False)
    assert big.num_items == 200_000 and 1 <= int(big.items.min()) and int(big.items.max()) <= 200_000
    assert big.items.unique().numel() > 5000  # popularity draws reach deep into every cluster
    assert int(big.lengths.min()) >= 5 and int(big.lengths.max()) <= 60


def test_permutation_batches_equal_the_list_based_samplers_they_replace():
    from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

    from recsys.data.loader import PermutationBatchSampler

    class Capped(BatchSampler):  # the capped list-based sampler batch_loader used before
        def __init__(self, sampler, batch_size, drop_last, max_batches):
            super().__init__(sampler, batch_size, drop_last)
            self.max_batches = max_batches

        def __iter__(self):
            for count, batch in enumerate(super().__iter__()):
                if count >= self.max_batches:
                    return
                yield batch

    for n, size, drop_last, cap, shuffle in [(13, 4, False, None, True), (16, 4, True, None, True),
                                             (13, 4, False, 3, True), (16, 4, False, 3, True),
                                             (17, 4, True, 4, True), (13, 5, False, 2, True),
                                             (13, 4, False, None, False), (3, 4, True, None, True)]:
        old_gen, new_gen = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        base = RandomSampler(range(n), generator=old_gen) if shuffle else SequentialSampler(range(n))
        old = BatchSampler(base, size, drop_last) if cap is None else Capped(base, size, drop_last, cap)
        new = PermutationBatchSampler(n, size, shuffle=shuffle, generator=new_gen, drop_last=drop_last,
                                      max_batches=cap)
        for _ in range(3):  # same batches every epoch, and the generators stay in step (resume)
            batches = list(new)
            assert all(isinstance(b, torch.Tensor) for b in batches)
            assert [b.tolist() for b in batches] == list(old)
            assert torch.equal(old_gen.get_state(), new_gen.get_state()) and len(new) == len(batches)
