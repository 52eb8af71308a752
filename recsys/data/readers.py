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

    Lines end at ``\\n``, ``\\r\\n`` or ``\\r`` (Python's universal newlines), fields are separated by whitespace as
    :meth:`str.split` splits them, item ids are parsed as :class:`int` parses them, and trailing blank lines are
    ignored. The parse is vectorised: the file's bytes are scanned with numpy in
    line-aligned chunks of about 256 KiB (token boundaries from a whitespace table, line of each token from the
    newline positions, digits accumulated column by column), so beyond the text and the result (8 bytes per
    interaction, one ``str`` per user) the memory is a few bytes per interaction and a chunk's temporaries — no
    Python object per interaction. A chunk the fast path cannot take as it is (a line that breaks one of the rules
    below, an item id other than plain ASCII digits such as ``+5`` or ``1_000``, non-ASCII text) is parsed line by
    line, which gives the same values and raises the error of its first offending line.

    Args:
        path: The ``.txt`` file.
        name: Dataset name; default the file stem in lower case.
        min_length: Users with fewer items are an error (the leave-one-out split needs 3: one input, a
            validation and a test target). Use ``1`` to read them anyway; the split then skips them and logs
            how many it skipped.

    Raises:
        DataError: A missing file, text that is not UTF-8, an empty file, a blank line between users, a
            non-integer, non-positive or larger than 64-bit item id (the message names the line and the field
            number), a user without items or shorter than ``min_length``, or a user listed twice.
    """
    path = Path(path)
    users, lengths, values = _parse_txt(path, min_length)  # the text is gone before the items are assembled
    if not users:
        raise DataError(f"{path}: the file holds no users")
    flat = torch.from_numpy(np.concatenate(values, dtype=np.int64))
    del values
    offsets = torch.zeros(len(users) + 1, dtype=torch.long)
    offsets[1:] = torch.from_numpy(np.concatenate(lengths)).cumsum(0)
    return SequenceDataset(
        name=name or path.stem.lower(), items=flat, offsets=offsets, user_ids=users,
        num_items=int(flat.max()), source=str(path),
    )


def _parse_txt(path: Path, min_length: int) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """The users, sequence lengths and items (int32 where they fit: 4 bytes an interaction until they are
    assembled) of the ``.txt`` file ``path``, chunk by chunk."""
    data = _read_utf8(path)
    users: list[str] = []
    seen: set[str] = set()
    lengths: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for lo, hi in _line_chunks(data, _content_end(data)):
        chunk = _chunk_text(data, lo, hi)
        parsed = _parse_chunk(chunk, min_length, seen)
        if parsed is None:
            parsed = _parse_lines(path, bytes(chunk).decode("utf-8"), len(users) + 1, min_length, seen, users)
        chunk_users, chunk_lengths, chunk_values = parsed
        seen.update(chunk_users)
        users.extend(chunk_users)
        lengths.append(chunk_lengths)
        values.append(chunk_values.astype(np.int32) if int(chunk_values.max()) < 2**31 else chunk_values)
    return users, lengths, values


#: Text per vectorised step of :func:`read_txt` (a chunk ends at a line end, so a longer line makes it longer).
_CHUNK_BYTES = 1 << 18
#: The ASCII characters :meth:`str.split` splits on (``str.isspace``): \t \n \v \f \r, \x1c-\x1f and space.
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
#: Digits-only item ids up to this length fit in int64; longer ones go the line-by-line way.
_MAX_DIGITS = 18
_INT64_MAX = 2**63 - 1


def _read_utf8(path: Path) -> bytes:
    """The file's bytes, checked to be UTF-8 (in bounded pieces: no decoded copy of the whole text)."""
    if not path.is_file():
        raise DataError(f"sequence file not found: {path}")
    data = path.read_bytes()
    if data.isascii():
        return data
    for lo, hi in _line_chunks(data, len(data)):  # a chunk ends at b"\n", which never splits a UTF-8 sequence
        try:
            data[lo:hi].decode("utf-8")
        except UnicodeDecodeError:
            try:  # with the bytes after the chunk, the reason is the one a decode of the whole file gives
                data[lo:hi + 4].decode("utf-8")
            except UnicodeDecodeError as exc:
                line = data.count(b"\n", 0, lo + exc.start) + 1
                raise DataError(f"{path}, line {line}: not UTF-8 text ({exc.reason})") from None
    return data


def _content_end(data: bytes) -> int:
    """End of the last line that is not blank (``str.strip`` leaves something): trailing blank lines are normal."""
    end = len(data)
    while True:
        start = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
        if data[start:end].decode("utf-8").strip():
            return end
        if start == 0:
            return 0
        end = start - 1


def _line_chunks(data: bytes, end: int):
    """``(lo, hi)`` spans of about :data:`_CHUNK_BYTES` covering ``data[:end]`` (nothing when ``end`` is 0), each
    ending at a line end: the ``b"\\n"`` at ``hi`` belongs to no span."""
    if end <= 0:
        return
    lo = 0
    while True:
        hi = data.find(b"\n", min(lo + _CHUNK_BYTES, end), end)
        hi = end if hi < 0 else hi
        yield lo, hi
        if hi >= end:
            return
        lo = hi + 1


def _chunk_text(data: bytes, lo: int, hi: int) -> bytes | memoryview:
    """The lines ``data[lo:hi]`` with ``\\n`` alone ending a line (universal newlines: ``\\r\\n`` and ``\\r``
    become ``\\n``; the ``\\r`` of a ``\\r\\n`` split by the chunk's end is dropped); a view when there is no
    ``\\r``."""
    if data.find(b"\r", lo, hi) < 0:
        return memoryview(data)[lo:hi]
    chunk = data[lo:hi]
    if chunk.endswith(b"\r") and data[hi:hi + 1] == b"\n":
        chunk = chunk[:-1]
    return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _parse_chunk(
    chunk: bytes | memoryview, min_length: int, seen: set[str]
) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """``(users, lengths, items)`` of the lines of ``chunk``, vectorised; ``None`` when a line needs the
    line-by-line parse (an error to report, an item id that is not plain ASCII digits, non-ASCII text)."""
    if len(chunk) == 0:
        return None  # an empty line
    b = np.frombuffer(chunk, dtype=np.uint8)
    if int(b.max()) >= 128:
        return None
    space = _WHITESPACE[b]
    token = ~space
    starts = np.flatnonzero(token[1:] & space[:-1]) + 1
    ends = np.flatnonzero(token[:-1] & space[1:]) + 1
    if token[0]:
        starts = np.concatenate([[0], starts])
    if token[-1]:
        ends = np.concatenate([ends, [len(b)]])
    newlines = np.flatnonzero(b == 10)
    counts = np.bincount(np.searchsorted(newlines, starts), minlength=len(newlines) + 1)
    if len(starts) == 0 or int(counts.min()) < 2 or int(counts.min()) - 1 < min_length:
        return None  # an empty line, a user without items or with fewer than min_length
    firsts = np.cumsum(counts) - counts  # each line's first token: the user id
    user_bounds = list(zip(starts[firsts].tolist(), ends[firsts].tolist()))
    is_item = np.ones(len(starts), dtype=bool)
    is_item[firsts] = False
    other = np.flatnonzero(token & ((b < 48) | (b > 57)))  # characters that are not digits
    if is_item[np.searchsorted(starts, other, side="right") - 1].any():
        return None  # an item id with a sign, an underscore or a letter: int() decides
    item_starts = starts[is_item]
    item_lengths = ends[is_item] - item_starts
    del starts, ends, is_item, space, token, other, firsts
    width = int(item_lengths.max())
    if width > _MAX_DIGITS:
        return None
    items = np.zeros(len(item_starts), dtype=np.int64)
    last = len(b) - 1
    for column in range(width):  # most significant digit first; a shorter id stops early
        digit = b[np.minimum(item_starts + column, last)].astype(np.int64) - 48
        items = np.where(item_lengths > column, items * 10 + digit, items)
    if int(items.min()) < 1:
        return None  # item id 0
    text = bytes(chunk).decode("ascii")
    users = [text[start:stop] for start, stop in user_bounds]
    if len(set(users)) != len(users) or not seen.isdisjoint(users):
        return None  # a user listed twice
    return users, counts - 1, items


def _parse_lines(
    path: Path, text: str, first_line: int, min_length: int, seen: set[str], users_before: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(users, lengths, items)`` of the lines of ``text`` (line ``first_line`` onwards), one line at a time with
    :meth:`str.split` and :class:`int`: the rules of :func:`read_txt` and the error of the first line that breaks
    one. ``seen`` holds the users of the lines before, ``users_before`` them in line order."""
    users: list[str] = []
    lengths: list[int] = []
    chunks: list[list[int]] = []
    here: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=first_line):
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
        high = max(items)
        if high > _INT64_MAX:
            bad = items.index(high) + 2
            raise DataError(f"{path}, line {number}, field {bad}: item id {high} does not fit in a 64-bit integer")
        if fields[0] in seen or fields[0] in here:
            first = here[fields[0]] if fields[0] in here else users_before.index(fields[0]) + 1
            raise DataError(f"{path}, line {number}: user {fields[0]!r} already appeared on line {first}"
                            + (_PAIR_HINT if len(fields) == 2 else ""))
        here[fields[0]] = number
        users.append(fields[0])
        lengths.append(len(items))
        chunks.append(items)
    flat = np.fromiter((i for c in chunks for i in c), dtype=np.int64, count=sum(lengths))
    return users, np.asarray(lengths, dtype=np.int64), flat


def read_inter(path: PathLike, *, name: str | None = None, min_length: int = 3) -> SequenceDataset:
    """Read a RecBole atomic ``.inter`` file (see the module docstring for the ordering and id rules).

    Rows are split on tabs and line ends (``\n``, ``\r\n`` or ``\r``), the user and item tokens are stripped of
    whitespace as :meth:`str.strip` strips it and timestamps are parsed as :class:`float` parses them; trailing
    blank lines are ignored. The parse is vectorised over the file's bytes (field boundaries from the tab and
    newline positions, the needed columns as fixed-width byte strings, factorised with :func:`numpy.unique`), so
    no Python object is made per interaction; a file the fast path cannot take as it is (a row that breaks a rule
    below, a token with spaces or non-ASCII text, a NUL byte) is parsed row by row, which gives the same values
    and raises the error of its first offending row.

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
    data = _read_utf8(path)
    if b"\r" in data:  # universal newlines, as open() reads text
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data[:_content_end(data)]  # trailing blank lines are normal
    if not data:
        raise DataError(f"{path}: empty file (expected a header 'user_id:token<TAB>item_id:token')")
    header_end = data.find(b"\n")
    header = data[: header_end if header_end >= 0 else len(data)].decode("utf-8").split("\t")
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
    if header_end < 0:
        raise DataError(f"{path}: the file has a header but no interactions")
    body = memoryview(data)[header_end + 1:]
    user_col, item_col, time_col = columns[USER_FIELD], columns[ITEM_FIELD], columns.get(TIME_FIELD)
    parsed = _inter_columns(body, len(header), user_col, item_col, time_col)
    if parsed is None:
        parsed = _inter_columns_by_line(path, bytes(body).decode("utf-8"), header, user_col, item_col, time_col)
    (user_codes, user_order), (item_codes, item_order), times = parsed
    # Group by user (first-appearance order), then time, then file row: one stable lexsort.
    keys = [np.arange(len(user_codes))]
    if times is not None:
        keys.append(times)
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


#: Bytes that send a ``.inter`` token to the line-by-line parse: the ASCII whitespace that ``str.strip`` removes
#: besides the tab and newline separators.
_INTER_SLOW_BYTES = np.zeros(256, dtype=bool)
_INTER_SLOW_BYTES[[11, 12, 13, 28, 29, 30, 31, 32]] = True
_INTER_SLOW_BYTES[128:] = True  # non-ASCII: str.strip also removes Unicode spaces
#: The characters of a timestamp numpy parses exactly as :class:`float` does (checked against ``float``).
_DECIMAL_BYTES = np.zeros(256, dtype=bool)
_DECIMAL_BYTES[list(b"0123456789.eE+-")] = True

_Factorized = tuple[np.ndarray, list[str]]


def _inter_columns(
    body: memoryview, width: int, user_col: int, item_col: int, time_col: int | None
) -> tuple[_Factorized, _Factorized, np.ndarray | None] | None:
    """The factorised user and item columns and the timestamps of the ``.inter`` rows ``body``, vectorised over its
    bytes; ``None`` when a row needs the line-by-line parse (a wrong field count, an empty, padded or non-ASCII
    token, a timestamp ``float`` rejects)."""
    b = np.frombuffer(body, dtype=np.uint8)
    if len(b) == 0 or not b.all():
        return None  # no rows, or a NUL byte (a fixed-width byte string would drop it)
    separators = np.flatnonzero((b == 9) | (b == 10))
    rows = int(np.count_nonzero(b[separators] == 10)) + 1
    if len(separators) != rows * width - 1:
        return None
    ends = np.append(separators, len(b)).reshape(rows, width)
    if not ((b[ends[:-1, -1]] == 10).all() and (b[ends[:, :-1]] == 9).all()):
        return None  # the right number of fields in all, but not on every line
    starts = np.empty_like(ends)
    starts[0, 0] = 0
    starts[1:, 0] = ends[:-1, -1] + 1
    starts[:, 1:] = ends[:, :-1] + 1
    del separators

    def tokens(column: int) -> np.ndarray | None:
        """The column as fixed-width byte strings, ``None`` if a token is empty or needs ``str.strip``."""
        lo, lengths = starts[:, column], ends[:, column] - starts[:, column]
        if int(lengths.min()) < 1:
            return None
        longest = int(lengths.max())
        matrix = np.zeros((rows, longest), dtype=np.uint8)
        for offset in range(longest):
            matrix[:, offset] = np.where(lengths > offset, b[np.minimum(lo + offset, len(b) - 1)], 0)
        if _INTER_SLOW_BYTES[matrix].any():
            return None
        return matrix.view(f"S{longest}").ravel()

    users, items = tokens(user_col), tokens(item_col)
    if users is None or items is None:
        return None
    times = None
    if time_col is not None:
        stamps = tokens(time_col)
        if stamps is None:
            return None
        characters = stamps.view(np.uint8)
        try:
            if _DECIMAL_BYTES[characters[characters != 0]].all():
                times = stamps.astype(np.float64)
            else:  # inf, nan, 1_000, …: float decides
                times = np.fromiter(map(float, stamps.astype(str).tolist()), dtype=np.float64, count=rows)
        except ValueError:
            return None
    return _factorize_bytes(users), _factorize_bytes(items), times


def _factorize_bytes(tokens: np.ndarray) -> _Factorized:
    """Codes ``0..k-1`` of fixed-width byte strings in order of first appearance, and the decoded tokens."""
    size = tokens.dtype.itemsize
    if size <= 8:  # as 64-bit integers: a much faster sort than byte strings
        padded = np.zeros((len(tokens), 8), dtype=np.uint8)
        padded[:, :size] = tokens.view(np.uint8).reshape(len(tokens), size)
        keys = padded.view(np.uint64).ravel()
    else:
        keys = tokens
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()], [token.decode("utf-8") for token in tokens[first[order]].tolist()]


def _inter_columns_by_line(
    path: Path, text: str, header: list[str], user_col: int, item_col: int, time_col: int | None
) -> tuple[_Factorized, _Factorized, np.ndarray | None]:
    """What :func:`_inter_columns` returns, one row at a time with :meth:`str.split`, :meth:`str.strip` and
    :class:`float`: the rules of :func:`read_inter` and the error of the first row that breaks one."""
    width = len(header)
    user_tokens: list[str] = []
    item_tokens: list[str] = []
    times: list[float] = []
    for number, line in enumerate(text.split("\n"), start=2):
        fields = line.split("\t")
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
    return _factorize(user_tokens), _factorize(item_tokens), np.asarray(times) if time_col is not None else None


def _factorize(tokens: list[str]) -> _Factorized:
    """Codes ``0..k-1`` in order of first appearance (RecBole / ``pandas.factorize`` order)."""
    index = {token: code for code, token in enumerate(dict.fromkeys(tokens))}
    return np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens)), list(index)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
