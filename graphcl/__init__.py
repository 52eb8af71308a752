"""graphcl: contrastive learning on graphs (GRACE, CSGCL, PamC, MEOW) and the shared core used by ``recsys``.

Sub-packages are imported lazily so that ``import graphcl`` stays cheap and never touches optional
dependencies.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_SUBMODULES = (
    "ops", "functional", "transforms", "losses", "nn", "models", "data", "eval", "train", "utils",
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"graphcl.{name}")
    raise AttributeError(f"module 'graphcl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBMODULES))
