"""Argument checks shared across sub-packages (one message format per mistake)."""
from __future__ import annotations

from typing import Any

import numpy as np


def check_positive_int(value: Any, name: str, *, allow_numpy: bool = False) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise ``ValueError`` naming ``name``.

    ``bool`` is rejected; NumPy integers are accepted only with ``allow_numpy`` (for sizes read off arrays).
    """
    types = (int, np.integer) if allow_numpy else (int,)
    if isinstance(value, bool) or not isinstance(value, types) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
