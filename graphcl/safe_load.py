"""Reading files that may hold pickles without ever running code from them.

Every file the library reads that could contain a pickle goes through this module: training checkpoints,
RecBole checkpoints, embedding files, community caches, ``.npy`` / ``.npz`` arrays and the pickled Planetoid raw
files. Pickle is a program, not a data format: unpickling an untrusted file can run any command. The readers here
only rebuild tensors, NumPy arrays, SciPy sparse matrices and plain containers; a file that needs anything else is
refused with a one-line :class:`UnsafeFileError` naming the file and the class it asked for, or — for foreign
checkpoints whose extra objects are irrelevant (RecBole pickles its ``Config``) — read with those objects replaced
by inert placeholders whose code never runs.

Three formats of :func:`torch.save` exist (the zip archive, the legacy pre-1.6 stream and a plain pickle handed to
``torch.load``); each is read by a restricted unpickler: torch's own ``weights_only`` unpickler first, and, where
placeholders are asked for, :class:`_PlaceholderUnpickler` for *every* object of the file (including the header
objects of the legacy format, which ``torch.load`` reads through ``pickle_module.load``).

Raw files with a published checksum are verified **before** they are parsed (:func:`verify_sha256`).
"""
from __future__ import annotations

import codecs
import hashlib
import os
import pickle
import re
import warnings
import zipfile
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphcl.errors import DataError

__all__ = [
    "UnsafeFileError",
    "load_foreign_checkpoint",
    "load_numpy",
    "load_torch",
    "sha256_of",
    "unpickle_arrays",
    "verify_sha256",
]

PathLike = str | os.PathLike[str]


class UnsafeFileError(DataError):
    """A file was refused because reading it would need code the library does not trust."""


# --- torch.save files ---------------------------------------------------------------------------------------

_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _refusal(path: Path, what: str, exc: BaseException) -> DataError:
    """One line for a ``weights_only`` refusal or an unreadable file (torch's own text spans many lines)."""
    text = str(exc)
    found = _GLOBAL.search(text)
    if found:
        return UnsafeFileError(
            f"{path}: refused to load this {what}: it holds a pickled {found.group(1)} object; only tensors and "
            f"plain containers are read (code from a file is never run)"
        )
    if isinstance(exc, pickle.UnpicklingError) and _looks_pickled(path):
        return UnsafeFileError(
            f"{path}: refused to load this {what}: not a torch.save file of tensors and plain containers "
            f"(a plain pickle or an object the safe reader does not rebuild)"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return DataError(f"{path}: cannot read this {what} (corrupt or not a torch.save file: {first})")


def _looks_pickled(path: Path) -> bool:
    """A pickle of protocol >= 2 (PROTO opcode) or a zip archive (torch's format): not random bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
    except OSError:
        return False
    return head[:1] == b"\x80" or head == b"PK"


def _existing_file(path: PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {what} not found")
    if not path.is_file():
        raise DataError(f"{path}: {what} is not a file")
    return path


def load_torch(path: PathLike, *, what: str = "file", map_location: Any = "cpu") -> Any:
    """Read a :func:`torch.save` file of tensors and plain containers (any of torch's formats).

    Args:
        path: The file.
        what: What the file is, for messages (e.g. ``"checkpoint"``). (default: ``"file"``)
        map_location: ``torch.load``'s argument. (default: ``"cpu"``)

    Returns:
        The loaded object.

    Raises:
        UnsafeFileError: The file holds pickled objects other than tensors and plain containers.
        DataError: The file is missing, not a file, or not readable as a torch file.
    """
    path = _existing_file(path, what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols; the error below says enough
            return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile, TypeError,
            AttributeError, KeyError, IndexError) as exc:
        raise _refusal(path, what, exc) from None


_TORCH_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("torch.storage", "UntypedStorage"): torch.storage.UntypedStorage,
    ("torch.storage", "TypedStorage"): torch.storage.TypedStorage,
    **{("torch", f"{t}Storage"): getattr(torch, f"{t}Storage")
       for t in ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool")},
}


class _Placeholder:
    """Inert stand-in for a pickled object of a class the library does not rebuild (its code never runs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass


class _PlaceholderUnpickler(pickle.Unpickler):
    """Rebuilds tensors, storages and plain containers; every other class becomes a :class:`_Placeholder`."""

    replaced: list[str]

    def find_class(self, module: str, name: str) -> Any:
        allowed = _TORCH_GLOBALS.get((module, name))
        if allowed is not None:
            return allowed
        self.replaced.append(f"{module}.{name}")
        return type(name, (_Placeholder,), {"__module__": f"placeholder.{module}"})


def _placeholder_pickle_module(replaced: list[str]) -> Any:
    """A ``pickle_module`` for ``torch.load`` whose ``load`` and ``Unpickler`` are both restricted."""

    class Unpickler(_PlaceholderUnpickler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.replaced = replaced

    class Module:
        __name__ = "graphcl_placeholder_pickle"
        UnpicklingError = pickle.UnpicklingError

        @staticmethod
        def load(file: Any, **kwargs: Any) -> Any:
            return Unpickler(file, **kwargs).load()

    Module.Unpickler = Unpickler  # type: ignore[attr-defined]
    return Module()


def load_foreign_checkpoint(path: PathLike, *, what: str = "checkpoint") -> tuple[Any, list[str]]:
    """Read a checkpoint written by other software, whose non-tensor objects are not needed.

    Tried first as a plain tensor file (:func:`load_torch`); a file that also pickles foreign objects (RecBole
    stores its ``Config``) is then read with those objects replaced by inert placeholders.

    Args:
        path: The file.
        what: What the file is, for messages. (default: ``"checkpoint"``)

    Returns:
        ``(object, replaced)``: the loaded object and the sorted qualified names of the classes replaced.

    Raises:
        DataError: The file is missing or not readable as a torch file.
    """
    try:
        return load_torch(path, what=what), []
    except UnsafeFileError:
        pass
    path = Path(path)
    replaced: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = torch.load(path, map_location="cpu", weights_only=False,
                               pickle_module=_placeholder_pickle_module(replaced))
    except Exception as exc:  # noqa: BLE001 - any failure of a foreign file is one line naming it
        raise _refusal(path, what, exc) from None
    return value, sorted(set(replaced))


# --- pickled arrays (Planetoid raw files) ---------------------------------------------------------------------

def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numpy_scalar() -> Any:
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return scalar


_ARRAY_GLOBALS: dict[tuple[str, str], Any] = {
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles of Python 3 store bytes (as torch allows)
    ("collections", "defaultdict"): defaultdict,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "list"): list,
    ("__builtin__", "list"): list,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(module, "_reconstruct"): _numpy_reconstruct() for module in ("numpy.core.multiarray",
                                                                     "numpy._core.multiarray")},
    **{(module, "scalar"): _numpy_scalar() for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, f"{kind}_matrix"): getattr(sp, f"{kind}_matrix")
       for kind in ("csr", "csc", "coo")
       for module in ("scipy.sparse", f"scipy.sparse.{kind}", f"scipy.sparse._{kind}")},
}


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays, SciPy sparse matrices and plain containers; refuses every other class."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ARRAY_GLOBALS.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(f"GLOBAL {module}.{name} is not an array or plain container")
        return allowed


def unpickle_arrays(path: PathLike, *, what: str = "file", encoding: str = "latin1") -> Any:
    """Unpickle a file that holds only NumPy arrays, SciPy sparse matrices and plain containers.

    Used for the Planetoid ``ind.<name>.*`` files (Python 2 pickles, hence ``encoding="latin1"``).

    Args:
        path: The file.
        what: What the file is, for messages.
        encoding: Decoding of Python 2 strings. (default: ``"latin1"``)

    Raises:
        UnsafeFileError: The file asks for any other class (its code is never run).
        DataError: The file is missing or not a readable pickle.
    """
    path = _existing_file(path, what)
    try:
        with open(path, "rb") as handle:
            return _ArrayUnpickler(handle, encoding=encoding).load()
    except pickle.UnpicklingError as exc:
        if _GLOBAL.search(str(exc)):
            raise _refusal(path, what, exc) from None
        raise DataError(f"{path}: cannot read this {what} (corrupt pickle: {exc})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, OSError) as exc:
        raise DataError(f"{path}: cannot read this {what} (corrupt pickle: {type(exc).__name__}: {exc})") from None


# --- NumPy files ----------------------------------------------------------------------------------------------

def load_numpy(path: PathLike, *, what: str = "array") -> np.ndarray:
    """A plain ``.npy`` array (``allow_pickle=False``: object arrays and pickles are refused, never run).

    Raises:
        UnsafeFileError: The file holds pickled Python objects (also a pickle renamed to ``.npy``).
        DataError: Missing, garbage, or an ``.npz`` archive where one array was expected.
    """
    path = _existing_file(path, what)
    try:
        value = np.load(path, allow_pickle=False)
    except ValueError as exc:
        with open(path, "rb") as handle:
            pickled = handle.read(1) == b"\x80"  # the PROTO opcode that starts every pickle of protocol >= 2
        if pickled or "object arrays" in str(exc).lower():
            raise UnsafeFileError(
                f"{path}: refused to load this {what}: it holds pickled Python objects, not a plain numeric array"
            ) from None
        raise DataError(f"{path}: not a numpy .npy file of {what} ({exc})") from None
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(f"{path}: not a numpy .npy file of {what} ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, np.ndarray):
        value.close()
        raise DataError(f"{path}: expected a single .npy array of {what}, got an .npz archive")
    return value


# --- checksums ------------------------------------------------------------------------------------------------

def sha256_of(path: PathLike, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(expected: Mapping[Path, str], *, trust: bool = False, option: str = "trust_raw_files=True") -> list[Path]:
    """Check files against their published SHA-256 **before** anything parses them.

    Args:
        expected: File -> published hex digest (files that do not exist are skipped; the loader reports them).
        trust: Accept files that differ (they are still parsed with the restricted readers of this module).
        option: How the user opts in, named in the error.

    Returns:
        The files that differ (empty unless ``trust``).

    Raises:
        UnsafeFileError: A file differs and ``trust`` is false; the message gives both hashes and ``option``.
    """
    changed = []
    for path, digest in expected.items():
        if not path.is_file():
            continue
        found = sha256_of(path)
        if found != digest:
            if not trust:
                raise UnsafeFileError(
                    f"{path}: SHA-256 {found} differs from the published {digest}; refusing to parse it. If the "
                    f"file is a deliberate variant, pass {option}"
                )
            changed.append(path)
    return changed
