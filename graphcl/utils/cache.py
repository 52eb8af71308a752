"""The user cache folder of the library: derived data that is slow to compute and safe to delete.

Detected communities (CSGCL) and SRA-CL's semantic embeddings and neighbour lists are cached under one root:
``$GRAPHCL_CACHE`` when set, else ``~/.cache/graphrec-cl``. Every entry is keyed by a hash of its inputs, so a
stale entry is never returned; deleting the folder only costs recomputation.
"""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GRAPHCL_CACHE"


def cache_root() -> Path:
    """``$GRAPHCL_CACHE`` (``~`` expanded) when set and non-empty, else ``~/.cache/graphrec-cl``; not created here."""
    base = os.environ.get(CACHE_ENV, "").strip()
    return Path(base).expanduser() if base else Path("~/.cache/graphrec-cl").expanduser()
