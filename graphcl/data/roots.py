"""Where datasets live: the default data root, and mirrors of read-only roots.

PyG writes ``processed/`` next to ``raw/``. When a root is read-only (a shared, staged data folder),
its raw files are mirrored (symlinked, or copied where links are impossible) into a cache folder
and processed there, so the source is never written to.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import graphcl
from graphcl.errors import DataError

__all__ = ["default_data_root", "is_writable", "mirror_raw_files"]

DATA_ROOT_ENV = "GRAPHCL_DATA"
_USER_CACHE = Path("~/.cache/graphrec-cl/datasets")
_MIRRORS = "_mirrors"


def default_data_root() -> Path:
    """The folder datasets are read from and downloaded to when no ``root`` is given.

    In order: ``$GRAPHCL_DATA`` when set; the repository's ``datasets/`` folder when running from a
    source checkout (it exists and holds ``README.md``); else ``~/.cache/graphrec-cl/datasets``.
    The folder is not created here.

    Returns:
        The absolute default root.
    """
    from_env = os.environ.get(DATA_ROOT_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser().absolute()
    checkout = Path(graphcl.__file__).resolve().parents[1] / "datasets"
    if (checkout / "README.md").is_file():
        return checkout
    return _USER_CACHE.expanduser().absolute()


def is_writable(path: str | Path) -> bool:
    """Whether files can be created at ``path`` (judged at its nearest existing ancestor).

    Permission bits are honoured even for root, who could write anyway: a folder marked read-only
    (``chmod a-w``) is meant to stay untouched.

    Args:
        path: A folder that may not exist yet.

    Returns:
        ``True`` when the nearest existing ancestor is a writable directory.
    """
    path = Path(path).absolute()
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    if not path.is_dir():
        return False
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def mirror_raw_files(source_root: str | Path, relative_files: Iterable[str]) -> Path:
    """Mirrors raw files of a read-only root into a writable cache folder with the same layout.

    The cache folder is ``<default root>/_mirrors/<name>-<hash>`` (falling back to the user cache and
    then the temp folder when that is not writable); the hash covers the absolute source path and the
    files' sizes and modification times, so a changed source never reuses a stale ``processed/``.

    Args:
        source_root: The read-only root (the one PyG would be given).
        relative_files: Files to mirror, relative to ``source_root``; all must exist.

    Returns:
        The mirror root, to be passed to PyG instead of ``source_root``.

    Raises:
        DataError: No writable cache folder was found.
    """
    source_root = Path(source_root).absolute()
    relative_files = list(relative_files)
    signature = [str(source_root)]
    for relative in relative_files:
        stat = (source_root / relative).stat()
        signature.append(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}")
    key = hashlib.sha256("\n".join(signature).encode()).hexdigest()[:16]
    folder = f"{source_root.name or 'root'}-{key}"

    bases = [default_data_root() / _MIRRORS, _USER_CACHE.expanduser() / _MIRRORS,
             Path(tempfile.gettempdir()) / "graphrec-cl" / _MIRRORS]
    writable = [base for base in bases if is_writable(base / folder)]
    if not writable:
        raise DataError(
            f"{source_root} is read-only and no writable cache folder was found to process it in "
            f"(tried {', '.join(str(base) for base in bases)}); set ${DATA_ROOT_ENV} to a writable folder"
        )
    mirror = writable[0] / folder
    for relative in relative_files:
        _link_or_copy(source_root / relative, mirror / relative)
    return mirror


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        if target.resolve() == source.resolve() or not target.is_symlink():
            return
        target.unlink()  # a stale link
    try:
        target.symlink_to(source)
    except FileExistsError:  # another process mirrored the same file meanwhile
        return
    except OSError:  # file systems (or platforms) without symlinks
        shutil.copyfile(source, target)
