"""MovieLens-100K (GroupLens ``ml-100k``) as a time-ordered sequence dataset with item text.

The real text dataset of the semantic models (SRA-CL): ``u.item`` has a title and 19 genre flags per movie.
Files (latin-1, as GroupLens ships them — ``u.item`` is not valid UTF-8):

* ``u.data``: ``user \\t item \\t rating \\t unix time``, 100,000 ratings, 943 users, 1,682 items;
* ``u.item``: ``id|title|release date|video release date|IMDb URL|19 genre flags``;
* ``u.genre``: ``name|index`` (the flag order).

Preprocessing (the usual one for sequential recommendation on MovieLens, e.g. RecBole's ``ml-100k``):

1. every rating is an implicit interaction (``min_rating=None``); ``min_rating=4`` keeps only positive ones;
2. iterative ``k_core``-filtering (default 5): drop users and items with fewer than ``k_core`` interactions,
   repeat until stable (on the full data this drops the 333 items rated fewer than 5 times and no user:
   943 users, 1,349 items, 99,287 interactions);
3. each user's interactions sorted by timestamp, stably (ties keep ``u.data`` line order);
4. remaining items renumbered ``1..N`` in increasing original id (``item_tokens`` keeps the original id),
   users keep their GroupLens id as token, in increasing order.

``item_titles[i]`` is the item text ``"<title>; genres: <g1>, <g2>"``; the one movie whose title is
``"unknown"`` (id 267) gets ``""`` — it has no text, which the semantic sources count and skip.
``item_attributes[i]`` is the movie's genre bag (attribute-based semantics); :func:`read_movielens_genres`
returns the same bags keyed by item id.

``load_sequences("ml-100k", root=...)`` reads the GroupLens folder ``<root>/ml-100k/`` with this reader.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from graphcl.errors import DataError
from recsys.data.sequences import SequenceDataset

NUM_GENRES = 19


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: MovieLens-100K file not found")
    return [line for line in path.read_text(encoding="latin-1").splitlines() if line.strip()]


def read_item_table(root: str | os.PathLike) -> tuple[dict[int, str], dict[int, list[str]]]:
    """``({item id: title}, {item id: [genre, ...]})`` from ``u.item`` and ``u.genre`` (titles ``"unknown"``
    are left out of the title map)."""
    root = Path(root)
    genre_names = [""] * NUM_GENRES
    for number, line in enumerate(_lines(root / "u.genre"), start=1):
        name, _, index = line.rpartition("|")
        if not index.isdigit() or not 0 <= int(index) < NUM_GENRES:
            raise DataError(f"{root / 'u.genre'}, line {number}: expected 'name|index', got {line!r}")
        genre_names[int(index)] = name
    titles: dict[int, str] = {}
    genres: dict[int, list[str]] = {}
    for number, line in enumerate(_lines(root / "u.item"), start=1):
        fields = line.split("|")
        if len(fields) != 5 + NUM_GENRES:
            raise DataError(
                f"{root / 'u.item'}, line {number}: expected {5 + NUM_GENRES} '|'-separated fields, got {len(fields)}"
            )
        try:
            item = int(fields[0])
            flags = [int(f) for f in fields[5:]]
        except ValueError:
            raise DataError(f"{root / 'u.item'}, line {number}: the id and genre flags must be integers") from None
        title = fields[1].strip()
        if title and title.lower() != "unknown":
            titles[item] = title
        genres[item] = [genre_names[g] for g, flag in enumerate(flags) if flag and genre_names[g] != "unknown"]
    return titles, genres


def _read_ratings(path: Path) -> np.ndarray:
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) != 4:
            raise DataError(f"{path}, line {number}: expected 'user<TAB>item<TAB>rating<TAB>time', got {line!r}")
        try:
            rows.append([int(f) for f in fields])
        except ValueError:
            raise DataError(f"{path}, line {number}: non-integer field in {line!r}") from None
    if not rows:
        raise DataError(f"{path}: no ratings")
    return np.asarray(rows, dtype=np.int64)


def _k_core(data: np.ndarray, k: int) -> np.ndarray:
    while True:
        users, user_counts = np.unique(data[:, 0], return_counts=True)
        items, item_counts = np.unique(data[:, 1], return_counts=True)
        keep = np.isin(data[:, 0], users[user_counts >= k]) & np.isin(data[:, 1], items[item_counts >= k])
        if keep.all():
            return data
        data = data[keep]


def read_movielens_100k(
    root: str | os.PathLike,
    *,
    min_rating: int | None = None,
    k_core: int = 5,
    name: str = "ml-100k",
) -> SequenceDataset:
    """Read ``ml-100k/`` into a :class:`~recsys.data.sequences.SequenceDataset` with item texts.

    Args:
        root: The ``ml-100k`` folder (``u.data``, ``u.item``, ``u.genre``).
        min_rating: Keep ratings ``>= min_rating`` only (``None``: all ratings are interactions).
        k_core: Iterative user/item minimum count (``1`` disables filtering).
        name: Dataset name.

    Raises:
        DataError: a missing file, a malformed line (file and line named), or nothing left after filtering.
    """
    root = Path(root)
    data = _read_ratings(root / "u.data")
    data = np.concatenate([data, np.arange(len(data))[:, None]], 1)  # file order for stable ties
    if min_rating is not None:
        data = data[data[:, 2] >= min_rating]
    if k_core > 1:
        data = _k_core(data, k_core)
    if len(data) == 0 or len(np.unique(data[:, 0])) == 0:
        raise DataError(f"{root}: no interactions left after min_rating={min_rating}, k_core={k_core}")
    titles, genres = read_item_table(root)
    unknown = sorted(set(np.unique(data[:, 1]).tolist()) - set(genres))
    if unknown:
        raise DataError(f"{root / 'u.data'}: item ids {unknown[:5]} are missing from u.item")
    data = data[np.lexsort((data[:, 4], data[:, 3], data[:, 0]))]
    item_ids = np.unique(data[:, 1])
    new_id = np.searchsorted(item_ids, data[:, 1]) + 1
    users, counts = np.unique(data[:, 0], return_counts=True)
    offsets = torch.zeros(len(users) + 1, dtype=torch.long)
    offsets[1:] = torch.from_numpy(counts).cumsum(0)
    texts, bags = [""], [[]]
    for item in item_ids.tolist():
        title = titles.get(item)
        texts.append("" if title is None else f"{title}; genres: {', '.join(genres[item]) or 'none'}")
        bags.append(list(genres[item]))
    return SequenceDataset(
        name=name,
        items=torch.from_numpy(new_id).long(),
        offsets=offsets,
        user_ids=[str(u) for u in users.tolist()],
        num_items=len(item_ids),
        item_tokens=["[PAD]"] + [str(i) for i in item_ids.tolist()],
        item_titles=texts,
        item_attributes=bags,
        source=f"{root} (min_rating={min_rating}, k_core={k_core})",
    )


def read_movielens_genres(dataset: SequenceDataset, root: str | os.PathLike) -> dict[int, list[str]]:
    """Genre bags keyed by the dataset's item ids (for :class:`recsys.semantic.AttributeSource`)."""
    if dataset.item_tokens is None:
        raise DataError(f"{dataset.name}: needs item_tokens (the original MovieLens ids) to map genres")
    _, genres = read_item_table(root)
    return {i: genres[int(tok)] for i, tok in enumerate(dataset.item_tokens) if i > 0}
