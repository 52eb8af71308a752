"""On-disk cache of embedding matrices keyed by a content hash, and where it lives.

Building text embeddings is the slow, one-off part of SRA-CL (Cui et al., 2025); the matrices are stored as
``<cache_dir>/<sha256>.pt`` where the hash covers everything that determines the result (encoder identity,
the texts in order, options). A changed title, model or option gives a new key, so a stale matrix is never
returned; identical inputs are never encoded twice.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphcl.errors import DataError
from graphcl.safe_load import load_torch
from graphcl.utils.cache import cache_root

#: ``semantic_cache`` values that disable caching.
NO_CACHE = ("", "none", "off", "false")


def semantic_cache_dir(setting: str | os.PathLike | None) -> Path | None:
    """The folder SRA-CL's semantic embeddings and neighbour lists are cached in.

    Args:
        setting: ``"auto"`` (the library's user cache: ``$GRAPHCL_CACHE/semantic``, else
            ``~/.cache/graphrec-cl/semantic``), a folder (``~`` expanded), or ``None`` / ``"none"`` (no cache).
    """
    if setting is None or (isinstance(setting, str) and setting.strip().lower() in NO_CACHE):
        return None
    if isinstance(setting, str) and setting.strip().lower() == "auto":
        return cache_root() / "semantic"
    return Path(os.fspath(setting)).expanduser()


def content_hash(*parts: Any, texts: Iterable[str] = ()) -> str:
    """SHA-256 over JSON-encoded ``parts`` followed by every text (length-prefixed, so boundaries count)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode("utf-8"))
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class EmbeddingCache:
    """A folder of ``<key>.pt`` tensors written atomically (temp file + rename).

    Args:
        root: Cache folder (created on first write). ``None`` disables caching.
    """

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.root = None if root is None else Path(root)

    def path(self, key: str) -> Path | None:
        return None if self.root is None else self.root / f"{key}.pt"

    def load(self, key: str) -> Tensor | None:
        """The cached tensor for ``key``, or ``None`` (also when the file is unreadable: it is rebuilt)."""
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        try:
            value = load_torch(path, what="semantic cache entry")
        except DataError:  # a truncated, corrupt or unsafe file is a cache miss (rebuilt), never unpickled
            return None
        return value if isinstance(value, Tensor) else None

    def save(self, key: str, value: Tensor) -> None:
        path = self.path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        try:
            torch.save(value.detach().cpu().contiguous(), tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
