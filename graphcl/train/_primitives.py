"""Conversion of run data (configs, metrics, checkpoint extras) to plain, portable Python values.

Checkpoints must load with ``torch.load(weights_only=True)`` and run files must be plain YAML / JSON / CSV,
so everything written by :mod:`graphcl.train` goes through :func:`to_primitive` first.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

import numpy as np
import torch

_SCALARS = (bool, int, float, str, type(None))


def to_primitive(obj: Any, where: str = "value", *, allow_tensors: bool = True) -> Any:
    """Convert ``obj`` to ``None``/``bool``/``int``/``float``/``str`` (and tensors) inside lists/tuples/dicts.

    Paths become strings, NumPy scalars and arrays become Python numbers and lists, enums their value,
    ``torch.device``/``torch.dtype`` strings. An object that is returned unchanged keeps its identity, so a
    ``state_dict`` (an ``OrderedDict`` with ``_metadata``) passes through untouched.

    Args:
        obj: The value to convert.
        where: Name of the value, used in error messages (e.g. ``"config['lr']"``).
        allow_tensors: Keep tensors as they are. When ``False``, one-element tensors become Python
            numbers and others nested lists (for YAML / JSON / CSV).

    Returns:
        The converted value.

    Raises:
        TypeError: ``obj`` holds something that has no portable form; the message names where.
    """
    if type(obj) in _SCALARS:
        return obj
    if isinstance(obj, Enum):
        return to_primitive(obj.value, where, allow_tensors=allow_tensors)
    # Subclasses (e.g. torch's TorchVersion, a str) are not allowed by the weights-only unpickler.
    for scalar_type in (bool, int, float, str):
        if isinstance(obj, scalar_type):
            return scalar_type(obj)
    if isinstance(obj, torch.Tensor):
        if allow_tensors:
            return obj
        return obj.item() if obj.numel() == 1 else obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (torch.device, torch.dtype)):
        return str(obj)
    if isinstance(obj, Mapping):
        items = []
        changed = type(obj) not in (dict, OrderedDict)
        for key, value in obj.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"{where}: key {key!r} of type {type(key).__name__} cannot be stored; "
                                f"use str keys")
            new = to_primitive(value, f"{where}[{key!r}]", allow_tensors=allow_tensors)
            changed = changed or new is not value
            items.append((key, new))
        if not changed:
            return obj
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, (list, tuple)):
        new_items = [to_primitive(v, f"{where}[{i}]", allow_tensors=allow_tensors) for i, v in enumerate(obj)]
        if type(obj) in (list, tuple) and all(n is o for n, o in zip(new_items, obj)):
            return obj
        return tuple(new_items) if isinstance(obj, tuple) else new_items
    raise TypeError(
        f"{where}: a value of type {type(obj).__name__} cannot be stored; "
        f"use numbers, strings, lists, dicts or tensors"
    )


def json_safe(obj: Any, where: str = "value") -> Any:
    """:func:`to_primitive` without tensors, tuples as lists, and NaN/±inf as ``None`` (strict JSON)."""
    obj = to_primitive(obj, where, allow_tensors=False)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    return obj


def yaml_safe(obj: Any, where: str = "value") -> Any:
    """:func:`to_primitive` without tensors and with tuples as lists, for ``yaml.safe_dump``."""
    obj = to_primitive(obj, where, allow_tensors=False)
    if isinstance(obj, Mapping):
        return {k: yaml_safe(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [yaml_safe(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    return obj
