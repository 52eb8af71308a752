"""Item attribute bags that ship with a sequence dataset (S3-Rec ``<Name>_item2attributes.json``, MovieLens genres).

The S3-Rec / MCLRec data release puts ``Beauty_item2attributes.json`` beside ``Beauty.txt``: a JSON object
``{"<item id>": [attribute id, ...]}`` over the same item ids as the sequence file. :func:`load_sequences
<recsys.data.load_sequences>` reads such a file when it lies beside the ``.txt`` and stores the bags in
:attr:`SequenceDataset.item_attributes <recsys.data.SequenceDataset.item_attributes>`, where SRA-CL's attribute
semantics (:class:`recsys.semantic.AttributeSource`) find them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from graphcl.errors import DataError

#: Suffix of the attribute file that belongs to ``<stem>.txt``.
ATTRIBUTE_FILE_SUFFIX = "_item2attributes.json"


def read_item_attributes(path: str | os.PathLike) -> dict[int, list[Any]]:
    """Read a ``{"<item id>": [attribute, ...]}`` JSON file (S3-Rec ``*_item2attributes.json``).

    Raises:
        DataError: The file is unreadable, not a JSON object, has a non-integer key or a non-list value (the
            file and the item are named).
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read item attributes ({exc})") from exc
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a JSON object mapping item ids to attribute lists")
    out: dict[int, list[Any]] = {}
    for key, value in raw.items():
        try:
            item = int(key)
        except ValueError:
            raise DataError(f"{path}: item key {key!r} is not an integer id") from None
        if not isinstance(value, list):
            raise DataError(f"{path}: attributes of item {key} must be a list, got {type(value).__name__}")
        out[item] = value
    return out


def attribute_file_beside(sequence_file: str | os.PathLike) -> Path | None:
    """``<folder>/<stem>_item2attributes.json`` for ``<folder>/<stem>.txt`` when that file exists, else ``None``."""
    path = Path(sequence_file)
    candidate = path.with_name(path.stem + ATTRIBUTE_FILE_SUFFIX)
    return candidate if candidate.is_file() else None


def attribute_bags(attributes: dict[int, list[Any]], num_items: int, where: str) -> list[list[Any]]:
    """``[num_items + 1]`` bags indexed by item id (entry 0 and items without attributes: ``[]``).

    Raises:
        DataError: An item id outside ``1..num_items`` (the attributes belong to another dataset; ``where`` names
            the file).
    """
    outside = sorted(item for item in attributes if not 1 <= item <= num_items)
    if outside:
        raise DataError(f"{where}: attributes given for item ids outside the dataset's 1..{num_items} "
                        f"(e.g. {outside[:5]}): the file does not belong to this dataset")
    bags: list[list[Any]] = [[] for _ in range(num_items + 1)]
    for item, values in attributes.items():
        bags[item] = list(values)
    return bags
