"""Registers transforms under PyG's data-pipe functional names, skipping names that are already taken."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch_geometric.data.datapipes import IterDataPipe, functional_transform

T = TypeVar("T")


def functional_name(name: str) -> Callable[[type[T]], type[T]]:
    """Like :func:`torch_geometric.data.datapipes.functional_transform`, but a no-op for a taken name.

    Registering a name twice raises inside torch, which would happen if PyG (or a reload of this module)
    already claimed it; skipping keeps ``import graphcl.transforms`` from ever failing on that account.

    Args:
        name: Data-pipe method name, e.g. ``"drop_edge"``.

    Returns:
        A class decorator that returns the class unchanged.
    """
    def wrapper(cls: type[T]) -> type[T]:
        if name in getattr(IterDataPipe, "functions", {}):
            return cls
        return functional_transform(name)(cls)

    return wrapper
