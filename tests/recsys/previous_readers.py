"""The sequence readers before vectorisation, verbatim: references for the vectorised ``read_txt`` and
``read_inter`` (each returns what the reader returned, or raises its ``DataError``)."""
from __future__ import annotations

import numpy as np

from graphcl.errors import DataError
from recsys.data import readers
from recsys.data.readers import ITEM_FIELD, TIME_FIELD, USER_FIELD


def read_text(path) -> str:
    if not path.is_file():
        raise DataError(f"sequence file not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not UTF-8 text ({exc.reason})") from None


def old_read_txt(path, *, min_length: int = 3) -> tuple[list[str], list[list[int]]]:
    """The reader before vectorisation (its loop, verbatim): ``(user_ids, sequences)`` or its ``DataError``."""
    text = read_text(path)
    users: list[str] = []
    chunks: list[list[int]] = []
    seen: dict[str, int] = {}
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()  # trailing newlines are normal
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            raise DataError(f"{path}, line {number}: empty line (expected 'user_id item_id item_id ...')")
        try:
            items = [int(f) for f in fields[1:]]
        except ValueError:
            bad = next(i for i, f in enumerate(fields[1:], start=2) if not readers._is_int(f))
            raise DataError(
                f"{path}, line {number}, field {bad}: item id {fields[bad - 1]!r} is not an integer"
            ) from None
        if not items:
            raise DataError(f"{path}, line {number}: user {fields[0]!r} has no items")
        if len(items) < min_length:
            raise DataError(
                f"{path}, line {number}: user {fields[0]!r} has {len(items)} interaction(s), fewer than "
                f"min_length={min_length} (the leave-one-out split needs 3; pass min_length=1 to skip such "
                f"users at split time instead)" + (readers._PAIR_HINT if len(fields) == 2 else "")
            )
        low = min(items)
        if low < 1:
            bad = items.index(low) + 2
            raise DataError(
                f"{path}, line {number}, field {bad}: item id {low} is not positive (ids start at 1; 0 is padding)"
            )
        if fields[0] in seen:
            raise DataError(f"{path}, line {number}: user {fields[0]!r} already appeared on line {seen[fields[0]]}"
                            + (readers._PAIR_HINT if len(fields) == 2 else ""))
        seen[fields[0]] = number
        users.append(fields[0])
        chunks.append(items)
    if not users:
        raise DataError(f"{path}: the file holds no users")
    return users, chunks


def old_read_inter(path, *, min_length: int = 3) -> tuple[list[str], list[list[int]], list[str]]:
    """The reader before vectorisation (its loop, verbatim): ``(user_ids, sequences, item tokens)`` or its error."""
    lines = read_text(path).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty file (expected a header 'user_id:token<TAB>item_id:token')")
    header = lines[0].rstrip("\r").split("\t")
    columns: dict[str, int] = {}
    for position, spec in enumerate(header, start=1):
        field_name, sep, field_type = spec.strip().partition(":")
        if not sep:
            raise DataError(
                f"{path}, line 1, field {position}: header entry {spec!r} is not of the form 'name:type' "
                f"(RecBole atomic files need typed headers, e.g. 'user_id:token')"
            )
        if field_type not in ("token", "token_seq", "float", "float_seq"):
            raise DataError(f"{path}, line 1, field {position}: unknown field type {field_type!r} in {spec!r}")
        expected = {USER_FIELD: "token", ITEM_FIELD: "token", TIME_FIELD: "float"}.get(field_name)
        if expected is not None and field_type != expected:
            raise DataError(
                f"{path}, line 1, field {position}: {field_name!r} must have type {expected!r}, got {field_type!r}"
            )
        if field_name in columns:
            raise DataError(
                f"{path}, line 1, field {position}: column {field_name!r} already appeared as field "
                f"{columns[field_name] + 1}"
            )
        columns[field_name] = position - 1
    for required in (USER_FIELD, ITEM_FIELD):
        if required not in columns:
            raise DataError(
                f"{path}, line 1: the header has no '{required}:token' column (found {', '.join(header)})"
            )
    width = len(header)
    user_col, item_col, time_col = columns[USER_FIELD], columns[ITEM_FIELD], columns.get(TIME_FIELD)
    user_tokens: list[str] = []
    item_tokens: list[str] = []
    times: list[float] = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.rstrip("\r").split("\t")
        if len(fields) != width:
            raise DataError(
                f"{path}, line {number}: expected {width} tab-separated fields ({', '.join(header)}), "
                f"got {len(fields)}"
            )
        user, item = fields[user_col].strip(), fields[item_col].strip()
        if not user or not item:
            missing = header[user_col] if not user else header[item_col]
            raise DataError(f"{path}, line {number}, field {missing!r}: empty value")
        user_tokens.append(user)
        item_tokens.append(item)
        if time_col is not None:
            try:
                times.append(float(fields[time_col]))
            except ValueError:
                raise DataError(
                    f"{path}, line {number}, field {header[time_col]!r}: {fields[time_col]!r} is not a number"
                ) from None
    if not user_tokens:
        raise DataError(f"{path}: the file has a header but no interactions")

    def factorize(tokens):
        mapping: dict[str, int] = {}
        return np.fromiter((mapping.setdefault(t, len(mapping)) for t in tokens), dtype=np.int64), list(mapping)

    user_codes, user_order = factorize(user_tokens)
    item_codes, item_order = factorize(item_tokens)
    keys = [np.arange(len(user_codes))]
    if time_col is not None:
        keys.append(np.asarray(times))
    keys.append(user_codes)
    order = np.lexsort(keys)
    items = item_codes[order] + 1
    counts = np.bincount(user_codes, minlength=len(user_order))
    short = np.flatnonzero(counts < min_length)
    if short.size:
        first_line = int(np.flatnonzero(user_codes == short[0])[0]) + 2
        raise DataError(
            f"{path}, line {first_line}, field {header[user_col]!r}: user {user_order[short[0]]!r} has "
            f"{counts[short[0]]} interaction(s), fewer than min_length={min_length} ({short.size} such user(s); "
            f"pass min_length=1 to skip them at split time instead)"
        )
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sequences = [items[lo:hi].tolist() for lo, hi in zip(bounds[:-1], bounds[1:])]
    return list(user_order), sequences, ["[PAD]", *item_order]
