"""The vectorised ``read_txt`` against the line-by-line reader it replaced: the same sequences, user ids and errors
on random files (odd whitespace, signs, underscores, non-ASCII, chunk boundaries anywhere, corrupted lines)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from graphcl.errors import DataError
from recsys.data import readers
from recsys.data.readers import read_txt
from tests.recsys.previous_readers import old_read_txt

SPACES = [" ", " ", " ", "  ", "\t", "\x0b", "\x0c", "\x1c", "\x1f"]  # \r ends a line (universal newlines)
ODD_SPACES = ["\xa0", "\u3000", "\u2009"]  # split by str.split, not ASCII


def _random_file(rng: random.Random, users: int, odd: bool) -> str:
    lines = []
    for u in range(users):
        user = rng.choice([str(u + 1), f"u{u}", f"user_{u}", f"-{u}"]) if odd else str(u + 1)
        if odd and rng.random() < 0.05:
            user = f"usér{u}"
        items = []
        for _ in range(rng.randint(3, 9)):
            item = str(rng.randint(1, 10 ** rng.randint(1, 7)))
            if odd and rng.random() < 0.03:
                item = rng.choice(["+" + item, "0" + item, item[:1] + "_" + item[1:] if len(item) > 1 else item,
                                   "١٢"])  # int() takes Arabic-Indic digits too
            items.append(item)
        spaces = SPACES + (ODD_SPACES if odd and rng.random() < 0.1 else [])
        line = rng.choice(["", " ", "\t"]) if odd else ""
        line += user
        for item in items:
            line += rng.choice(spaces) + item
        line += rng.choice(["", " ", "\x85"]) if odd else ""
        lines.append(line + (rng.choice(["\n", "\n", "\r\n", "\r"]) if odd else "\n"))
    return "".join(lines)[:-1] + rng.choice(["", "\n", "\n\n", "\n \t\n", "\n\r\n", "\r", "\r\n\r\n"])


def _corrupt(rng: random.Random, text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    at = rng.randrange(len(lines))
    fields = lines[at].split()
    kind = rng.choice(["empty", "blank", "word", "zero", "negative", "short", "pair", "duplicate", "no_items",
                       "signed_zero"])
    if kind == "empty":
        lines.insert(at, "")
    elif kind == "blank":
        lines.insert(at, " \t ")
    elif kind == "word" and len(fields) > 2:
        fields[rng.randrange(1, len(fields))] = rng.choice(["five", "1.5", "0x10", "--3"])
    elif kind == "zero" and len(fields) > 2:
        fields[rng.randrange(1, len(fields))] = "0"
    elif kind == "negative" and len(fields) > 2:
        fields[rng.randrange(1, len(fields))] = "-7"
    elif kind == "signed_zero" and len(fields) > 2:
        fields[rng.randrange(1, len(fields))] = "+0"
    elif kind == "short":
        fields = fields[:3]
    elif kind == "pair":
        fields = fields[:2]
    elif kind == "duplicate" and at > 0 and fields:
        earlier = lines[rng.randrange(at)].split()
        fields[0] = earlier[0] if earlier else fields[0]
    elif kind == "no_items":
        fields = fields[:1]
    if kind not in ("empty", "blank") and fields:
        lines[at] = " ".join(fields)
    return "\n".join(lines)


def _check_same(path, min_length: int = 3) -> str:
    """Compare both readers on ``path``; returns the error message when both raise."""
    try:
        users, sequences = old_read_txt(path, min_length=min_length)
    except DataError as old:
        with pytest.raises(DataError) as new:
            read_txt(path, min_length=min_length)
        assert str(new.value) == str(old)
        return str(old)
    data = read_txt(path, min_length=min_length)
    assert data.user_ids == users
    flat = [item for seq in sequences for item in seq]
    assert data.items.dtype == torch.long and data.items.tolist() == flat
    assert data.offsets.tolist() == np.concatenate([[0], np.cumsum([len(s) for s in sequences])]).tolist()
    assert data.num_items == max(flat)
    return ""


@pytest.mark.parametrize("chunk", [5, 64, 1 << 20])
@pytest.mark.parametrize("odd", [False, True])
def test_vectorised_read_equals_the_line_by_line_reader_on_random_files(tmp_path, monkeypatch, chunk, odd):
    monkeypatch.setattr(readers, "_CHUNK_BYTES", chunk)
    rng = random.Random(chunk * 2 + odd)
    for trial in range(6):
        path = tmp_path / f"r{trial}.txt"
        path.write_text(_random_file(rng, rng.randint(1, 60), odd), encoding="utf-8")
        assert _check_same(path) == ""  # valid files
        assert _check_same(path, min_length=rng.choice([1, 5, 8])) is not None


RULES = ("empty line", "is not an integer", "has no items", "fewer than min_length", "is not positive",
         "already appeared")


@pytest.mark.parametrize("chunk", [5, 64, 1 << 20])
def test_corrupted_files_give_the_same_error(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(readers, "_CHUNK_BYTES", chunk)
    rng = random.Random(chunk)
    messages = set()
    for trial in range(60):
        text = _random_file(rng, rng.randint(2, 30), odd=trial % 3 == 0)
        for _ in range(rng.randint(1, 2)):
            text = _corrupt(rng, text)
        path = tmp_path / f"c{trial}.txt"
        path.write_text(text, encoding="utf-8")
        message = _check_same(path)
        messages.update(rule for rule in RULES if rule in message)
    assert messages == set(RULES)  # the corruptions reached every rule


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_special_files_and_utf8_errors(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(readers, "_CHUNK_BYTES", chunk)
    for name, content in {
        "empty": b"", "blank": b" \n\t\n", "one": b"7 1 2 3", "crlf": b"a 1 2 3\r\nb 4 5 6\r\n",
        "lead": b"\n\na 1 2 3\n", "bom": "\ufeffa 1 2 3\n".encode(), "bad_utf8": b"a 1 2 3\nb 4 \xff 6\nc x\n",
        "cut_utf8": b"a 1 2 3\nb 4 5 \xc3\nc 1 2 3\n", "end_cut": b"a 1 2 3\nb 4 5 \xe2\x82",
        "nbsp_tail": "a 1 2 3\n\xa0\n".encode(), "nbsp_mid": "a 1 2 3\n\u3000\nb 1 2 3".encode(),
    }.items():
        path = tmp_path / f"{name}.txt"
        path.write_bytes(content)
        _check_same(path)


def test_ids_beyond_64_bits_are_a_data_error(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("a 1 2 3\nb 4 99999999999999999999 6\n")
    with pytest.raises(DataError, match=r"line 2, field 3: item id 99999999999999999999 does not fit in a 64-bit"):
        read_txt(path)
    path.write_text("a 1 2 3\nb 4 999999999999999999 6\n")  # 18 digits: the vectorised path
    assert read_txt(path).items.tolist() == [1, 2, 3, 4, 999999999999999999, 6]
