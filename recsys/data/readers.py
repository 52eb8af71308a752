"""Readers and writer for the two sequence formats of the papers' repositories.

* **One line per user** (``.txt``; S3-Rec / CoSeRec / ICLRec / MCLRec): ``uid i1 i2 … in`` separated by
  spaces, items in time order, integer ids starting at 1 (0 is padding). Item ids are kept as written.
* **RecBole atomic** ``.inter``: tab-separated, a typed header ``user_id:token<TAB>item_id:token`` and
  optionally ``timestamp:float`` (further columns, e.g. ``rating:float``, are ignored). Interactions are grouped
  by user in order of the user's first appearance and sorted by timestamp within a user (stable: ties keep file
  order; without a timestamp column the file order is the time order). Item tokens are remapped to ids
  ``1..N`` in order of first appearance, as RecBole does, so that a RecBole checkpoint's embedding rows line up;
  for files written from a ``.txt`` (ids already in first-appearance order, as in MCLRec's ``dataset/``) the
  ids are unchanged and both readers give identical sequences.

Every malformed input raises :class:`graphcl.errors.DataError` naming the file, the line and the field.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from graphcl.errors import DataError
from recsys.data.sequences import SequenceDataset

PathLike = str | os.PathLike[str]

#: Field names RecBole uses for the user, the item and the time of an interaction.
USER_FIELD, ITEM_FIELD, TIME_FIELD = "user_id", "item_id", "timestamp"


def read_txt(path: PathLike, *, name: str | None = None, min_length: int = 3) -> SequenceDataset:
    """Read a one-line-per-user file ``uid i1 i2 … in``.

    Args:
        path: The ``.txt`` file.
        name: Dataset name; default the file stem in lower case.
        min_length: Users with fewer items are an error (the leave-one-out split needs 3: one input, a
            validation and a test target). Use ``1`` to read them anyway; the split then skips them and logs
            how many it skipped.

    Raises:
        DataError: A missing file, an empty file, a blank line between users, a non-integer or non-positive
            id (the message names the line and the field number), a user without items or shorter than
            ``min_length``, or a user listed twice.
    """
    path = Path(path)
    text = _read_text(path)
    users: list[str] = []
    lengths: list[int] = []
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
            bad = next(i for i, f in enumerate(fields[1:], start=2) if not _is_int(f))
            raise DataError(
                f"{path}, line {number}, field {bad}: item id {fields[bad - 1]!r} is not an integer"
            ) from None
        if not items:
            raise DataError(f"{path}, line {number}: user {fields[0]!r} has no items")
        if len(items) < min_length:
            raise DataError(
                f"{path}, line {number}: user {fields[0]!r} has {len(items)} interaction(s), fewer than "
                f"min_length={min_length} (the leave-one-out split needs 3; pass min_length=1 to skip such "
                f"users at split time instead)" + (_PAIR_HINT if len(fields) == 2 else "")
            )
        low = min(items)
        if low < 1:
            bad = items.index(low) + 2
            raise DataError(
                f"{path}, line {number}, field {bad}: item id {low} is not positive (ids start at 1; 0 is padding)"
            )
        if fields[0] in seen:
            raise DataError(f"{path}, line {number}: user {fields[0]!r} already appeared on line {seen[fields[0]]}"
                            + (_PAIR_HINT if len(fields) == 2 else ""))
        seen[fields[0]] = number
        users.append(fields[0])
        lengths.append(len(items))
        chunks.append(items)
    if not users:
        raise DataError(f"{path}: the file holds no users")
    flat = torch.from_numpy(np.fromiter((i for c in chunks for i in c), dtype=np.int64, count=sum(lengths)))
    offsets = torch.zeros(len(users) + 1, dtype=torch.long)
    offsets[1:] = torch.tensor(lengths, dtype=torch.long).cumsum(0)
    return SequenceDataset(
        name=name or path.stem.lower(), items=flat, offsets=offsets, user_ids=users,
        num_items=int(flat.max()), source=str(path),
    )


def read_inter(path: PathLike, *, name: str | None = None, min_length: int = 3) -> SequenceDataset:
    """Read a RecBole atomic ``.inter`` file (see the module docstring for the ordering and id rules).

    Args:
        path: The ``.inter`` file.
        name: Dataset name; default the file stem in lower case.
        min_length: As in :func:`read_txt`.

    Raises:
        DataError: A missing file, a header without typed ``user_id:token`` / ``item_id:token`` columns, an
            unknown field type, a row with a missing column, a non-numeric timestamp, or a user shorter than
            ``min_length`` (each naming the line and the field).
    """
    path = Path(path)
    lines = _read_text(path).split("\n")
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

    user_codes, user_order = _factorize(user_tokens)
    item_codes, item_order = _factorize(item_tokens)
    # Group by user (first-appearance order), then time, then file row: one stable lexsort.
    keys = [np.arange(len(user_codes))]
    if time_col is not None:
        keys.append(np.asarray(times))
    keys.append(user_codes)
    order = np.lexsort(keys)
    items = torch.from_numpy(item_codes[order] + 1)
    counts = np.bincount(user_codes, minlength=len(user_order))
    short = np.flatnonzero(counts < min_length)
    if short.size:
        first_line = int(np.flatnonzero(user_codes == short[0])[0]) + 2
        raise DataError(
            f"{path}, line {first_line}, field {header[user_col]!r}: user {user_order[short[0]]!r} has "
            f"{counts[short[0]]} interaction(s), fewer than min_length={min_length} ({short.size} such user(s); "
            f"pass min_length=1 to skip them at split time instead)"
        )
    offsets = torch.zeros(len(user_order) + 1, dtype=torch.long)
    offsets[1:] = torch.from_numpy(counts).cumsum(0)
    return SequenceDataset(
        name=name or path.stem.lower(), items=items, offsets=offsets, user_ids=list(user_order),
        num_items=len(item_order), item_tokens=["[PAD]", *item_order], source=str(path),
    )


def write_inter(dataset: SequenceDataset, path: PathLike, *, timestamps: bool = False) -> Path:
    """Write ``dataset`` as a RecBole atomic ``.inter`` file (what MCLRec's ``data_process.py`` produces).

    Args:
        dataset: The sequences.
        path: Output file (parent folders are created).
        timestamps: Add a ``timestamp:float`` column holding each interaction's position in its user's
            sequence, so that the order survives tools that re-sort by time.

    Returns:
        The written path. :func:`read_inter` reads it back to the same sequences.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = dataset.lengths.numpy()
    users = np.repeat(np.asarray(dataset.user_ids, dtype=object), lengths)
    tokens = (np.asarray(dataset.item_tokens, dtype=object) if dataset.item_tokens is not None
              else np.arange(dataset.num_items + 1).astype(str).astype(object))
    items = tokens[dataset.items.numpy()]
    header = [f"{USER_FIELD}:token", f"{ITEM_FIELD}:token"]
    columns = [users, items]
    if timestamps:
        header.append(f"{TIME_FIELD}:float")
        starts = np.repeat(dataset.offsets[:-1].numpy(), lengths)
        columns.append((np.arange(len(items)) - starts).astype(str).astype(object))
    rows = ["\t".join(row) for row in zip(*columns)]
    path.write_text("\t".join(header) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_txt(dataset: SequenceDataset, path: PathLike) -> Path:
    """Write ``dataset`` in the one-line-per-user format (item ids as internal integers)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [" ".join([user, *map(str, seq)]) for user, seq in zip(dataset.user_ids, dataset.sequences())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_PAIR_HINT = (
    "; the line looks like one 'user_id item_id' interaction (SRA-CL's data files), but a .txt sequence file "
    "holds one user per line, 'user_id item_id item_id ...' (write such a file, or an .inter file, first)"
)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"sequence file not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not UTF-8 text ({exc.reason})") from None


def _factorize(tokens: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes ``0..k-1`` in order of first appearance (RecBole / ``pandas.factorize`` order)."""
    mapping: dict[str, int] = {}
    codes = np.fromiter((mapping.setdefault(t, len(mapping)) for t in tokens), dtype=np.int64, count=len(tokens))
    return codes, list(mapping)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
