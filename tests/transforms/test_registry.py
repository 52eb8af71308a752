"""Tests for the data-pipe functional-name registration of the transforms."""
from __future__ import annotations

from torch_geometric.data.datapipes import IterDataPipe

import graphcl.transforms  # also registers the data-pipe names
from graphcl.transforms._registry import functional_name


def test_transforms_are_registered_under_free_names() -> None:
    functions = getattr(IterDataPipe, "functions", None)
    if functions is None:  # torch without data pipes: registration is a no-op
        return
    assert "drop_edge" in functions and "mask_feature" in functions


def test_taken_name_is_skipped_without_error() -> None:
    class Dummy:
        pass

    assert functional_name("drop_edge")(Dummy) is Dummy  # already taken by DropEdge


def test_every_transform_is_exported_from_the_package() -> None:
    from graphcl.transforms import metapath

    # The architecture lists MEOW's meta-path transforms under graphcl.transforms with the others.
    assert graphcl.transforms.MetaPathViews is metapath.MetaPathViews
    assert graphcl.transforms.MetaPathContexts is metapath.MetaPathContexts
    assert {"MetaPathViews", "MetaPathContexts", "DropEdge", "CommunalEdgeDropping"} <= set(graphcl.transforms.__all__)
