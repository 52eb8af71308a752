"""The vectorised ``read_inter`` against the line-by-line reader it replaced: the same sequences, user ids, item
tokens and errors on random RecBole ``.inter`` files (padded and non-ASCII tokens, odd timestamps, NUL bytes,
carriage returns, wrong field counts, empty values)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from graphcl.errors import DataError
from recsys.data import readers
from recsys.data.readers import ITEM_FIELD, TIME_FIELD, USER_FIELD, read_inter
from tests.recsys.previous_readers import old_read_inter


def _random_file(rng: random.Random, rows: int, odd: bool) -> str:
    columns = [f"{USER_FIELD}:token", f"{ITEM_FIELD}:token"]
    if rng.random() < 0.7:
        columns.append(f"{TIME_FIELD}:float")
    if rng.random() < 0.5:
        columns.append("rating:float")
    if rng.random() < 0.3:
        columns.append("review:token_seq")
    rng.shuffle(columns)
    lines = ["\t".join(columns)]
    users = [rng.choice([str(u), f"u{u}", f"user_{u}_long_name"]) for u in range(rng.randint(1, 12))]
    items = [rng.choice([str(i), f"B00{i:07d}", f"i{i}"]) for i in range(rng.randint(1, 40))]
    for _ in range(rows):
        value = {
            f"{USER_FIELD}:token": rng.choice(users), f"{ITEM_FIELD}:token": rng.choice(items),
            f"{TIME_FIELD}:float": rng.choice([str(rng.randint(0, 10**9)), f"{rng.random() * 1e6:.3f}", "5"]),
            "rating:float": str(rng.randint(1, 5)), "review:token_seq": "good value ok",
        }
        if odd:
            if rng.random() < 0.05:
                value[f"{USER_FIELD}:token"] = rng.choice([" padded ", "usér", "\xa0u1", "u1 "])
            if rng.random() < 0.05:
                value[f"{ITEM_FIELD}:token"] = rng.choice(["itém", " i1", "i\x1f1", "\u3000i2"])
            if rng.random() < 0.05:
                value[f"{TIME_FIELD}:float"] = rng.choice(["inf", "-inf", "1_000", " 7 ", "1e3", "+4", ".5", "nan",
                                                           "\u0661\u0662"])
        lines.append("\t".join(value[c] for c in columns))
    newline = rng.choice(["\n", "\r\n", "\r"]) if odd else "\n"
    return newline.join(lines) + rng.choice(["", "\n", "\n\n", "\n \t\n", "\n\r\n"])


def _corrupt(rng: random.Random, text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    at = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
    kind = rng.choice(["blank", "extra", "missing", "empty_user", "empty_item", "bad_time", "nul", "split"])
    fields = lines[at].split("\t")
    if kind == "blank":
        lines.insert(at, rng.choice(["", " "]))
    elif kind == "extra":
        fields.append("x")
    elif kind == "missing" and len(fields) > 1:
        fields.pop()
    elif kind in ("empty_user", "empty_item", "bad_time") and at > 0:
        header = lines[0].split("\t")
        name = {"empty_user": USER_FIELD, "empty_item": ITEM_FIELD, "bad_time": TIME_FIELD}[kind]
        column = next((i for i, spec in enumerate(header) if spec.startswith(name + ":")), None)
        if column is not None and column < len(fields):
            fields[column] = rng.choice([" ", ""]) if kind != "bad_time" else rng.choice(["noon", "1,5", "", "0x10"])
    elif kind == "nul":
        fields[0] += "\x00"
    elif kind == "split" and len(fields) > 2:  # one row's fields over two lines: the field count is right in all
        lines[at] = "\t".join(fields[:1])
        lines.insert(at + 1, "\t".join(fields[1:]))
        return "\n".join(lines)
    if kind != "blank":
        lines[at] = "\t".join(fields)
    return "\n".join(lines)


def _check_same(path, min_length: int = 1) -> str:
    """Compare both readers on ``path``; returns the error message when both raise."""
    try:
        users, sequences, tokens = old_read_inter(path, min_length=min_length)
    except DataError as old:
        with pytest.raises(DataError) as new:
            read_inter(path, min_length=min_length)
        assert str(new.value) == str(old)
        return str(old)
    data = read_inter(path, min_length=min_length)
    assert data.user_ids == users
    assert data.sequences() == sequences
    assert data.item_tokens == tokens and data.num_items == len(tokens) - 1
    return ""


@pytest.mark.parametrize("odd", [False, True])
def test_vectorised_read_equals_the_line_by_line_reader_on_random_files(tmp_path, odd):
    rng = random.Random(odd)
    for trial in range(25):
        path = tmp_path / f"r{trial}.inter"
        path.write_text(_random_file(rng, rng.randint(1, 80), odd), encoding="utf-8", newline="")
        if not odd:
            assert _check_same(path) == ""  # valid files
        _check_same(path)
        _check_same(path, min_length=rng.choice([2, 4]))


RULES = ("tab-separated fields", "empty value", "is not a number", "fewer than min_length")


def test_corrupted_files_give_the_same_error(tmp_path):
    rng = random.Random(7)
    messages = set()
    for trial in range(120):
        text = _random_file(rng, rng.randint(2, 40), odd=trial % 3 == 0)
        for _ in range(rng.randint(1, 2)):
            text = _corrupt(rng, text)
        path = tmp_path / f"c{trial}.inter"
        path.write_text(text, encoding="utf-8", newline="")
        message = _check_same(path, min_length=rng.choice([1, 1, 3]))
        messages.update(rule for rule in RULES if rule in message)
    assert messages == set(RULES)  # the corruptions reached every rule


def test_special_files_and_utf8_errors(tmp_path):
    head = b"user_id:token\titem_id:token\n"
    for name, content in {
        "empty": b"", "blank": b" \n\t\n", "header_only": head, "header_blank": head + b"\n \n",
        "no_newline": b"user_id:token\titem_id:token", "one": head + b"u\ti", "crlf": head.replace(b"\n", b"\r\n")
        + b"u\ti\r\nv\tj\r\n", "bad_utf8": head + b"u\ti\nv\t\xff\n", "end_cut": head + b"u\ti\xe2\x82",
        "nbsp_tail": head + "u\ti\n\xa0\n".encode(), "blank_mid": head + b"u\ti\n\nv\tj\n",
    }.items():
        path = tmp_path / f"{name}.inter"
        path.write_bytes(content)
        _check_same(path)


def test_a_million_rows_take_the_vectorised_path(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    users, items, times = rng.integers(0, 5000, 10**6), rng.integers(0, 3000, 10**6), rng.random(10**6)
    rows = "\n".join(f"u{u}\t{i}\t{t!r}" for u, i, t in zip(users.tolist(), items.tolist(), times.tolist()))
    path = tmp_path / "big.inter"
    path.write_text(f"{USER_FIELD}:token\t{ITEM_FIELD}:token\t{TIME_FIELD}:float\n{rows}\n")

    def no_line_by_line(*args, **kwargs):
        raise AssertionError("the line-by-line parse ran")

    monkeypatch.setattr(readers, "_inter_columns_by_line", no_line_by_line)
    data = read_inter(path, min_length=1)
    first = {u: k for k, u in reversed(list(enumerate(users.tolist())))}
    assert data.user_ids == [f"u{u}" for u in sorted(first, key=first.get)]
    order = np.lexsort([np.arange(10**6), times, np.asarray([first[u] for u in users.tolist()])])
    tokens = np.asarray(data.item_tokens)
    assert (tokens[data.items.numpy()] == items[order].astype(str)).all()
