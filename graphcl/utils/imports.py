"""Guarded imports for optional dependencies."""
from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import an optional dependency or raise an ``ImportError`` that says how to install it.

    Args:
        module: Importable module name, e.g. ``"leidenalg"``.
        extra: Name of the ``graphrec-cl`` extra that provides it, e.g. ``"community"``.
        feature: What the caller needs it for; included in the message.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f" for {feature}" if feature else ""
        raise ImportError(
            f"The optional dependency '{module}' is needed{what} but is not installed. "
            f"Install it with: pip install 'graphrec-cl[{extra}]'"
        ) from exc
