"""Graph datasets: the catalog, loaders over PyG's dataset classes, and the generated community graph.

``load_dataset(name, root=None)`` returns one validated :class:`~torch_geometric.data.Data` for any
homogeneous name in :data:`DATASETS` and a :class:`~torch_geometric.data.HeteroData` (with meta-paths) for
the HeCo datasets ``"acm"`` and ``"dblp"``; ``make_community_graph`` builds the embedded default dataset in
memory.
"""
from graphcl.data.catalog import (
    DATASETS,
    DatasetEntry,
    DatasetStats,
    dataset_names,
    get_entry,
)
from graphcl.data.generated import make_community_graph
from graphcl.data.heco import (
    HECO_DATASETS,
    HecoDescription,
    MetaPath,
    load_heco,
    metapath_adjacency,
)
from graphcl.data.loaders import load_dataset
from graphcl.data.roots import default_data_root
from graphcl.data.validation import GraphSummary, validate_graph

__all__ = [
    "DATASETS",
    "HECO_DATASETS",
    "DatasetEntry",
    "DatasetStats",
    "GraphSummary",
    "HecoDescription",
    "MetaPath",
    "dataset_names",
    "default_data_root",
    "get_entry",
    "load_dataset",
    "load_heco",
    "make_community_graph",
    "metapath_adjacency",
    "validate_graph",
]
