"""``load_sequences``: one entry point from a file path, a dataset name plus root, or ``"generated"``."""
from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from graphcl.errors import ConfigError, DataError, GraphCLError
from recsys.data.attributes import attribute_bags, attribute_file_beside, read_item_attributes
from recsys.data.generated import make_sequence_dataset
from recsys.data.movielens import read_movielens_100k
from recsys.data.readers import read_inter, read_txt
from recsys.data.sequences import SequenceDataset

MOVIELENS_RATINGS = "u.data"  # a GroupLens MovieLens-100K folder is recognised by its ratings file

#: Dataset names and the file names they are looked up under in a root folder (first match wins).
DATASET_FILES: dict[str, tuple[str, ...]] = {
    "beauty": ("Beauty.txt", "Amazon_Beauty/Amazon_Beauty.inter", "Amazon_Beauty.inter", "Amazon_Beauty.txt"),
    "sports": ("Sports_and_Outdoors.txt", "Amazon_Sports_and_Outdoors/Amazon_Sports_and_Outdoors.inter",
               "Amazon_Sports_and_Outdoors.inter"),
    "toys": ("Toys_and_Games.txt", "Amazon_Toys_and_Games.inter"),
    "yelp": ("Yelp.txt", "Yelp.inter"),
    "ml-100k": ("ml-100k/u.data", "ml-100k/ml-100k.txt", "ml-100k.txt"),
}


#: File stems that name a known dataset (config files are looked up under the canonical name).
ALIASES = {"amazon_beauty": "beauty", "sports_and_outdoors": "sports", "amazon_sports_and_outdoors": "sports",
           "toys_and_games": "toys", "amazon_toys_and_games": "toys"}


def canonical_name(name: str) -> str:
    """``"Amazon_Beauty"`` / ``"Sports_and_Outdoors"`` -> ``"beauty"`` / ``"sports"``; other names lower-cased."""
    key = name.lower()
    return ALIASES.get(key, key)


def load_sequences(source: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                   **options: Any) -> SequenceDataset:
    """Load a sequence dataset.

    Args:
        source: ``"generated"`` (the embedded default), a path to a ``.txt`` / ``.inter`` file or to a GroupLens
            MovieLens-100K folder (``u.data``, ``u.item``, ``u.genre``; read with titles and genres by
            :func:`~recsys.data.movielens.read_movielens_100k`), or a name of :data:`DATASET_FILES` (``"beauty"``,
            ``"ml-100k"``, ...) looked up in ``root``. A ``.txt`` with an S3-Rec ``<stem>_item2attributes.json``
            beside it also gets the items' attribute bags.
        root: Folder holding the named datasets (e.g. ``../shared/data/seqrec``).
        **options: Keyword arguments of the loader that reads ``source`` (``recsys train --dataset-option
            KEY=VALUE``): for ``"generated"`` those of :func:`~recsys.data.generated.make_sequence_dataset`
            (e.g. ``num_users=1000000``; there ``min_length`` is the shortest *generated* sequence), for a
            ``.txt`` / ``.inter`` file ``min_length`` of :func:`~recsys.data.readers.read_txt` /
            :func:`~recsys.data.readers.read_inter` (default 3), for MovieLens-100K ``min_rating`` and
            ``k_core`` of :func:`~recsys.data.movielens.read_movielens_100k`.

    Raises:
        DataError: The file does not exist, has an unknown suffix, or a name cannot be found in ``root``.
        ConfigError: An option the loader does not take (the message lists those it takes), or a value it
            refuses.
    """
    text = str(source)
    if text == "generated":
        return _call_with_options("generated", make_sequence_dataset, options)
    key = text.lower()
    if key in DATASET_FILES and not Path(text).is_file():
        if root is None:
            raise DataError(f"dataset {text!r} needs --root, the folder holding one of {DATASET_FILES[key]}")
        for candidate in DATASET_FILES[key]:
            path = Path(root) / candidate
            if path.is_file():
                return _read(path, key, options)
        raise DataError(f"dataset {text!r}: none of {', '.join(DATASET_FILES[key])} found under {root}")
    path = Path(text)
    if root is not None and not path.is_absolute() and not path.exists():
        path = Path(root) / path
    if path.is_dir() and (path / MOVIELENS_RATINGS).is_file():
        path = path / MOVIELENS_RATINGS
    if not path.is_file():
        known = ", ".join(["generated", *DATASET_FILES])
        raise DataError(f"sequence data {text!r} is neither a file nor a known dataset ({known})")
    return _read(path, None, options)


def loader_options(reader: Callable[..., Any]) -> list[str]:
    """The keyword arguments of a loader that ``load_sequences(**options)`` may set (its data path and the
    dataset name are load_sequences' own)."""
    return [name for name, p in inspect.signature(reader).parameters.items()
            if name not in _RESERVED and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


_RESERVED = ("path", "root", "name")


def _check_options(what: str, reader: Callable[..., Any], options: dict[str, Any]) -> None:
    accepted = loader_options(reader)
    unknown = [key for key in options if key not in accepted]
    if unknown:
        raise ConfigError(f"dataset {what!r} does not take the option(s) {', '.join(map(repr, unknown))}; "
                          f"valid: {', '.join(accepted) or 'none'}")
    min_length = options.get("min_length")
    if "min_length" in options and reader is not make_sequence_dataset and (
            isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1):
        raise ConfigError(f"dataset {what!r}: min_length must be an int >= 1, got {min_length!r}")


def _call_with_options(what: str, loader: Callable[..., SequenceDataset], options: dict[str, Any], *args: Any,
                       **kwargs: Any) -> SequenceDataset:
    """``loader(*args, **kwargs, **options)`` after :func:`_check_options`, for loaders that validate their
    arguments themselves: a ``TypeError`` / ``ValueError`` (a value the loader cannot use; its message names the
    argument) becomes a one-line :class:`ConfigError`, while a library error (e.g. a malformed file's
    :class:`DataError`) stays what it is."""
    _check_options(what, loader, options)
    try:
        return loader(*args, **kwargs, **options)
    except GraphCLError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"dataset {what!r}: {exc}") from None


def _read(path: Path, name: str | None, options: dict[str, Any]) -> SequenceDataset:
    if path.name == MOVIELENS_RATINGS:  # the GroupLens folder: titles and genres come with the ratings
        return _call_with_options(str(path.parent), read_movielens_100k, options, path.parent,
                                  name=name or canonical_name(path.parent.name))
    name = name or canonical_name(path.stem)
    if path.suffix == ".inter":
        _check_options(str(path), read_inter, options)
        return read_inter(path, name=name, **options)
    if path.suffix == ".txt":
        _check_options(str(path), read_txt, options)
        dataset = read_txt(path, name=name, **options)
        attribute_file = attribute_file_beside(path)
        if attribute_file is None:
            return dataset
        bags = attribute_bags(read_item_attributes(attribute_file), dataset.num_items, str(attribute_file))
        return replace(dataset, item_attributes=bags)
    raise DataError(f"{path}: unknown sequence file type {path.suffix!r} (expected .txt or .inter)")
