"""Loading catalog datasets as a single :class:`~torch_geometric.data.Data` through PyG's dataset classes."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch_geometric.transforms as T
from torch_geometric.data import Data

from graphcl.data.catalog import DatasetEntry, get_entry
from graphcl.data.generated import make_community_graph
from graphcl.data.roots import (
    DATA_ROOT_ENV,
    default_data_root,
    is_writable,
    mirror_raw_files,
)
from graphcl.data.validation import validate_graph
from graphcl.errors import ConfigError, DataError
from graphcl.safe_load import load_torch, unpickle_arrays, verify_sha256

__all__ = ["load_dataset"]


def load_dataset(
    name: str,
    root: str | Path | None = None,
    *,
    normalize_features: bool = True,
    download: bool = True,
    allow_edgeless: bool = False,
    trust_raw_files: bool = False,
    **kwargs: Any,
) -> Data:
    """Loads a catalog dataset (see :data:`graphcl.data.DATASETS`) as one validated graph.

    Real datasets go through their PyG class (``Planetoid``, ``Amazon``, ``Coauthor``, ``WikiCS``),
    which reads ``root`` in PyG's layout and only downloads when raw files are missing, so loading is
    offline whenever the files are there. A read-only root is mirrored into a cache folder and
    processed there (see :func:`graphcl.data.roots.mirror_raw_files`). ``"generated"`` is built in
    memory by :func:`~graphcl.data.generated.make_community_graph` and needs no files. HeCo-format
    heterogeneous datasets (``"acm"``, ``"dblp"``) return a ``HeteroData`` from
    :func:`~graphcl.data.heco.load_heco` (``root``: the folder holding ``acm/``; ``kwargs`` go to it).

    Args:
        name: Dataset name, case-insensitive (e.g. ``"cora"``, ``"amazon-photo"``, ``"generated"``).
        root: Folder passed to PyG as ``root`` (e.g. the folder holding ``Cora/raw/``); a folder whose
            catalog sub-folder (``planetoid/``, ``amazon/``, ...) holds the files works too. ``None``
            uses ``default_data_root() / <sub-folder>``. Ignored for ``"generated"``.
        normalize_features: Row-normalise ``x`` to sum to one with ``T.NormalizeFeatures()``, as
            GRACE does. Not used by the HeCo datasets (their file features are always L1-normalised, see
            :mod:`graphcl.data.heco`) nor by ``"dblp-sdcn"`` (raw binary features, the SDCN recipe).
            (default: ``True``)
        download: Let PyG download missing raw files. (default: ``True``)
        allow_edgeless: Accept a graph without edges. (default: ``False``)
        trust_raw_files: Accept raw files whose SHA-256 differs from the published one in the catalog
            (a deliberately modified copy). By default such files are refused before they are parsed. Either
            way, pickled raw files are read by a restricted unpickler that rebuilds arrays only
            (:mod:`graphcl.safe_load`), so no file ever runs code. (default: ``False``)
        **kwargs: Extra arguments of the PyG class (e.g. ``split="full"`` for Planetoid) or of
            ``make_community_graph`` (e.g. ``seed``, ``num_nodes``).

    Returns:
        A :class:`~torch_geometric.data.Data` with ``x``, ``edge_index``, ``y``, ``num_nodes`` set
        explicitly, and whatever masks PyG provides; for ``"acm"`` / ``"dblp"`` the ``HeteroData`` of
        :func:`~graphcl.data.heco.load_heco`.

    Raises:
        DataError: Unknown name (with suggestions), raw files missing and not downloadable (listing
            the expected paths), unreadable files, or a malformed graph.
        UnsafeFileError: A raw file differs from its published checksum (and ``trust_raw_files`` is false),
            or a pickled file holds objects other than arrays (never unpickled).
        ConfigError: An argument the dataset does not accept, or an out-of-range argument of
            ``make_community_graph``.
    """
    entry = get_entry(name)
    if entry.format == "heco":
        # Heterogeneous: a HeteroData with features already L1-normalised per type (see graphcl.data.heco).
        from graphcl.data.heco import load_heco

        _check_kwargs(entry.name, load_heco, kwargs, reserved=("name_or_description", "root"))
        return load_heco(entry.name, root if root is not None else default_data_root() / "heco", **kwargs)
    if entry.format == "sdcn":
        # SDCN clustering benchmarks keep their raw features (the SDCN autoencoder recipe); see graphcl.data.sdcn.
        from graphcl.data.sdcn import load_dblp_sdcn

        _check_kwargs(entry.name, load_dblp_sdcn, kwargs, reserved=("root",))
        data = load_dblp_sdcn(_resolve_root(entry, root))
        data.num_nodes = validate_graph(data, entry.name, allow_edgeless=allow_edgeless).num_nodes
        return data
    if entry.format == "generated":
        _check_kwargs(entry.name, make_community_graph, kwargs, reserved=())
        try:
            data = make_community_graph(**{**entry.pyg_kwargs, **kwargs})
        except (TypeError, ValueError) as exc:  # the message names the argument
            raise ConfigError(f"Dataset {entry.name!r}: {exc}") from None
    else:
        data = _load_with_pyg(entry, root, download, kwargs, trust_raw_files)

    summary = validate_graph(data, entry.name, allow_edgeless=allow_edgeless)
    data.num_nodes = summary.num_nodes
    if normalize_features:
        data = T.NormalizeFeatures()(data)
    return data


def _load_with_pyg(
    entry: DatasetEntry, root: str | Path | None, download: bool, kwargs: dict[str, Any], trust_raw_files: bool,
) -> Data:
    import torch_geometric.datasets

    dataset_class = getattr(torch_geometric.datasets, entry.pyg_class)
    _check_kwargs(entry.name, dataset_class, kwargs, reserved=("root", "name"))
    arguments = {**entry.pyg_kwargs, **kwargs}
    pyg_root = _resolve_root(entry, root)

    missing = [path for path in entry.raw_paths(pyg_root) if not path.is_file()]
    if missing:
        if entry.format != "planetoid":  # PyG downloads and parses in one go; these formats hold no pickles
            return _download_and_load(entry, pyg_root, missing, download, dataset_class, arguments)
        _download_raw_files(entry, pyg_root, missing, download)

    # Before PyG parses anything: published checksums, then pickled raw files through the restricted reader.
    verify_sha256({pyg_root / relative: digest for relative, digest in entry.sha256.items()},
                  trust=trust_raw_files, option="--trust-raw-files (load_dataset(..., trust_raw_files=True))")
    if entry.format == "planetoid":
        for path in entry.raw_paths(pyg_root):
            if not path.name.endswith(".test.index"):  # the only text file of the eight
                unpickle_arrays(path, what=f"{entry.name} raw file")
    processed_dir = pyg_root / entry.dataset_dir / "processed"
    work_root = pyg_root if is_writable(processed_dir) else mirror_raw_files(pyg_root, entry.raw_files)
    # PyG retries a processed file that weights_only refuses with full unpickling; refuse it here instead.
    for path in sorted((work_root / entry.dataset_dir / "processed").glob("*.pt")):
        load_torch(path, what="processed dataset file (delete it to rebuild it from the raw files)")
    try:
        return dataset_class(root=str(work_root), **arguments)[0]
    except Exception as exc:  # noqa: BLE001 - parsing errors of whatever the raw files hold
        raise DataError(
            f"Dataset {entry.name!r}: could not read the raw files under {pyg_root} "
            f"({type(exc).__name__}: {exc}). Check them against {entry.source_url}."
        ) from None


def _download_target(entry: DatasetEntry, pyg_root: Path, missing: list[Path], download: bool) -> tuple[Path, Path]:
    """``(raw_dir, its nearest existing ancestor)`` of a download, or the missing-files error when downloading is
    off or the folder is not writable (the ancestor bounds the clean-up of empty folders after a failure)."""
    raw_dir = (pyg_root / entry.raw_files[0]).parent
    if not download:
        raise _missing_files_error(entry, pyg_root, missing, "download=False was given")
    if not is_writable(raw_dir):
        raise _missing_files_error(entry, pyg_root, missing, f"{pyg_root} is not writable")
    existing_ancestor = raw_dir
    while not existing_ancestor.exists():
        existing_ancestor = existing_ancestor.parent
    return raw_dir, existing_ancestor


def _download_raw_files(entry: DatasetEntry, pyg_root: Path, missing: list[Path], download: bool) -> None:
    """Fetch missing raw files from ``entry.source_url`` without parsing them (they are verified first)."""
    from torch_geometric.data import download_url

    raw_dir, existing_ancestor = _download_target(entry, pyg_root, missing, download)
    try:
        for path in missing:
            download_url(f"{entry.source_url}/{path.name}", str(path.parent), log=False)
        return
    except Exception as exc:  # noqa: BLE001 - network errors come as URLError, OSError, aiohttp errors, ...
        still_missing = [path for path in entry.raw_paths(pyg_root) if not path.is_file()]
        _remove_empty_folders(raw_dir, stop=existing_ancestor)
        reason = f"the download from {entry.source_url} failed ({type(exc).__name__}: {exc})"
    raise _missing_files_error(entry, pyg_root, still_missing, reason)


def _download_and_load(
    entry: DatasetEntry,
    pyg_root: Path,
    missing: list[Path],
    download: bool,
    dataset_class: Callable[..., Any],
    arguments: dict[str, Any],
) -> Data:
    raw_dir, existing_ancestor = _download_target(entry, pyg_root, missing, download)
    try:
        return dataset_class(root=str(pyg_root), **arguments)[0]
    except Exception as exc:  # noqa: BLE001 - network errors come as URLError, OSError, aiohttp errors, ...
        still_missing = [path for path in entry.raw_paths(pyg_root) if not path.is_file()]
        if not still_missing:
            raise DataError(
                f"Dataset {entry.name!r}: downloaded to {pyg_root} but could not read the files "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        _remove_empty_folders(raw_dir, stop=existing_ancestor)
        reason = f"the download from {entry.source_url} failed ({type(exc).__name__}: {exc})"
    # Raised outside the except block so that no network traceback is chained to it.
    raise _missing_files_error(entry, pyg_root, still_missing, reason)


def _resolve_root(entry: DatasetEntry, root: str | Path | None) -> Path:
    if root is None:
        return default_data_root() / (entry.subdir or "")
    root = Path(root).expanduser().absolute()
    if entry.subdir:
        nested = root / entry.subdir
        if all(path.is_file() for path in entry.raw_paths(nested)):
            return nested
    return root


def _check_kwargs(
    dataset: str, target: Callable[..., Any], kwargs: dict[str, Any], reserved: tuple[str, ...],
) -> None:
    parameters = inspect.signature(target).parameters
    accepted = [key for key in parameters if key not in reserved and key != "self"]
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"Dataset {dataset!r} does not accept the argument {key!r}; "
                f"accepted: {', '.join(accepted) or 'none'}"
            )


def _missing_files_error(
    entry: DatasetEntry, pyg_root: Path, missing: list[Path], reason: str,
) -> DataError:
    missing_set = set(missing)
    listing = "\n".join(
        f"  {path}{'   <- missing' if path in missing_set else ''}"
        for path in entry.raw_paths(pyg_root)
    )
    return DataError(
        f"Dataset {entry.name!r}: {len(missing)} raw file(s) missing under {pyg_root} and {reason}.\n"
        f"Expected files ({entry.format} format, PyG layout):\n{listing}\n"
        f"Get them from {entry.source_url} and put them there, or give the folder that holds them: --root DIR "
        f"on the command line or load_dataset({entry.name!r}, root=DIR) in Python, with DIR/{entry.raw_files[0]} "
        f"present, or set ${DATA_ROOT_ENV} to a folder whose '{entry.subdir}/' sub-folder is laid out that way."
    )


def _remove_empty_folders(folder: Path, stop: Path) -> None:
    """Removes the empty folders a failed download left, from ``folder`` up to (excluding) ``stop``."""
    folder, stop = folder.absolute(), stop.absolute()
    while folder != stop and stop in folder.parents and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
