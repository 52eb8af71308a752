"""The dataset catalog: one declarative entry per graph dataset (format, files, source, license, statistics).

Adding a dataset means adding an entry here (and a row to ``datasets/README.md``); the loader reads
formats, not files. Raw file paths follow the layout of the PyG dataset classes (checked against
``torch_geometric.datasets`` by ``tests/data/test_catalog.py``).
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from graphcl.errors import DataError

__all__ = ["DATASETS", "DatasetEntry", "DatasetStats", "dataset_names", "get_entry"]


@dataclass(frozen=True)
class DatasetStats:
    """Expected size of a dataset as loaded (edges are directed: every undirected edge counts twice).

    Args:
        num_nodes: Number of nodes.
        num_edges: Number of directed edges in ``edge_index``.
        num_features: Node feature dimension.
        num_classes: Number of node classes.
    """

    num_nodes: int
    num_edges: int
    num_features: int
    num_classes: int


@dataclass(frozen=True)
class DatasetEntry:
    """One catalog entry.

    Args:
        name: Lower-case dataset name, the key of :data:`DATASETS`.
        format: File format (``"planetoid"``, ``"npz"``, ``"wikics-json"``, ``"generated"``, ``"heco"``,
            ``"sdcn"``).
        pyg_class: Name of the class in :mod:`torch_geometric.datasets` that reads it (``None`` for the
            generated graph and for the formats this library reads itself, ``"heco"`` and ``"sdcn"``).
        pyg_kwargs: Constructor arguments besides ``root``; for the ``"generated"`` format, the arguments of
            :func:`~graphcl.data.generated.make_community_graph` (a caller's own arguments take precedence).
        subdir: Folder under the default data root that is passed to PyG as ``root`` when the user
            gives none (keeps e.g. WikiCS's ``raw/`` apart from the others).
        raw_files: Files PyG expects, relative to its ``root``.
        source_url: Where the raw files come from (PyG downloads them from there for the PyG formats; the
            HeCo files are never downloaded).
        license: License of the distributed files (and of the underlying data, where stated).
        paper: The paper to cite.
        stats: Expected statistics of the loaded graph.
        description: One line on what the graph is.
        aliases: Other accepted spellings of ``name``.
        sha256: Known SHA-256 checksums of raw files, keyed like ``raw_files``.
    """

    name: str
    format: str
    pyg_class: str | None
    pyg_kwargs: Mapping[str, Any]
    subdir: str | None
    raw_files: tuple[str, ...]
    source_url: str
    license: str
    paper: str
    stats: DatasetStats
    description: str
    aliases: tuple[str, ...] = ()
    sha256: Mapping[str, str] = field(default_factory=dict)

    def raw_paths(self, root: str | Path) -> list[Path]:
        """Absolute paths of the raw files under a PyG ``root``."""
        root = Path(root)
        return [root / relative for relative in self.raw_files]

    def files_summary(self) -> str:
        """The expected files, grouped by folder: ``acm/{labels.npy,pa.txt,...}`` (``"none"`` without files)."""
        if not self.raw_files:
            return "none"
        folders: dict[str, list[str]] = {}
        for relative in self.raw_files:
            folder, _, name = relative.rpartition("/")
            folders.setdefault(folder, []).append(name)
        return " ".join(f"{folder + '/' if folder else ''}{{{','.join(names)}}}" if len(names) > 1
                        else f"{folder + '/' if folder else ''}{names[0]}" for folder, names in folders.items())

    @property
    def dataset_dir(self) -> str:
        """Folder, relative to the PyG ``root``, that holds ``raw/`` and ``processed/``."""
        if not self.raw_files:
            return "."
        return Path(self.raw_files[0]).parent.parent.as_posix()


_PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
_PLANETOID_LICENSE = (
    "MIT (kimiyoung/planetoid repository, which distributes the files); data from LINQS"
)
_PLANETOID_PAPER = (
    "Yang, Cohen & Salakhutdinov, Revisiting Semi-Supervised Learning with Graph Embeddings, "
    "ICML 2016, https://arxiv.org/abs/1603.08861"
)
_GNN_BENCHMARK_URL = "https://github.com/shchur/gnn-benchmark/raw/master/data/npz/"
_GNN_BENCHMARK_PAPER = (
    "Shchur et al., Pitfalls of Graph Neural Network Evaluation, R2L workshop @ NeurIPS 2018, "
    "https://arxiv.org/abs/1811.05868"
)
_PLANETOID_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def _planetoid(
    name: str, pyg_name: str, stats: DatasetStats, description: str, sha256: Mapping[str, str],
) -> DatasetEntry:
    return DatasetEntry(
        name=name,
        format="planetoid",
        pyg_class="Planetoid",
        pyg_kwargs=MappingProxyType({"name": pyg_name}),
        subdir="planetoid",
        raw_files=tuple(f"{pyg_name}/raw/ind.{name}.{part}" for part in _PLANETOID_PARTS),
        source_url=_PLANETOID_URL,
        license=_PLANETOID_LICENSE,
        paper=_PLANETOID_PAPER,
        stats=stats,
        description=description,
        sha256=MappingProxyType(dict(sha256)),
    )


def _gnn_benchmark(
    name: str, pyg_class: str, pyg_name: str, folder: str, file: str, stats: DatasetStats,
    description: str, license: str, aliases: tuple[str, ...],
) -> DatasetEntry:
    return DatasetEntry(
        name=name,
        format="npz",
        pyg_class=pyg_class,
        pyg_kwargs=MappingProxyType({"name": pyg_name}),
        subdir=pyg_class.lower(),
        raw_files=(f"{folder}/raw/{file}",),
        source_url=_GNN_BENCHMARK_URL,
        license=license,
        paper=_GNN_BENCHMARK_PAPER,
        stats=stats,
        description=description,
        aliases=aliases,
    )


_CORA_SHA256 = {
    "Cora/raw/ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "Cora/raw/ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "Cora/raw/ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "Cora/raw/ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
    "Cora/raw/ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "Cora/raw/ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "Cora/raw/ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "Cora/raw/ind.cora.test.index":
        "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
}
_PUBMED_SHA256 = {  # ind.pubmed.allx is not listed: no verified copy was available.
    "PubMed/raw/ind.pubmed.x": "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33",
    "PubMed/raw/ind.pubmed.tx": "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d",
    "PubMed/raw/ind.pubmed.y": "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3",
    "PubMed/raw/ind.pubmed.ty": "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd",
    "PubMed/raw/ind.pubmed.ally":
        "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
    "PubMed/raw/ind.pubmed.graph":
        "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
    "PubMed/raw/ind.pubmed.test.index":
        "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
}

_HECO_URL = "https://github.com/liun-online/HeCo/tree/main/data"
_HECO_PAPER = (
    "Wang, Liu, Han & Shi, Self-supervised Heterogeneous Graph Neural Network with Co-contrastive Learning, "
    "KDD 2021, https://arxiv.org/abs/2105.09111"
)


def _heco(name: str, stats: DatasetStats, description: str) -> DatasetEntry:
    """The catalog entry of the HeCo-format description ``HECO_DATASETS[name]`` (:mod:`graphcl.data.heco`), loaded
    by :func:`~graphcl.data.heco.load_heco` as ``HeteroData``; the expected files are the description's.

    ``stats`` counts the target nodes, the relation links (one direction), the target feature dimension (the
    one-hot dimension, i.e. the node count, for a target without a feature file) and the classes.
    """
    from graphcl.data.heco import HECO_DATASETS

    heco = HECO_DATASETS[name]
    files = [heco.labels, *(t.features for t in heco.node_types if t.features),
             *(relation.file for relation in heco.relations),
             *(f"{part}_{rate}.npy" for rate in heco.label_rates for part in ("train", "val", "test"))]
    return DatasetEntry(
        name=name,
        format="heco",
        pyg_class=None,
        pyg_kwargs=MappingProxyType({}),
        subdir="heco",
        raw_files=tuple(f"{name}/{file}" for file in files),
        source_url=_HECO_URL,
        license="None stated by liun-online/HeCo; cite the HeCo paper",
        paper=_HECO_PAPER,
        stats=stats,
        description=description,
    )


_HECO_ENTRIES = (
    _heco("acm", DatasetStats(4019, 17426, 1902, 3),
          "Heterogeneous ACM graph (paper, author, subject), papers labelled by area; meta-paths PAP, PSP"),
    _heco("dblp", DatasetStats(4057, 119783, 334, 4),
          "Heterogeneous DBLP graph (author, paper, term, conference), authors labelled by area; meta-paths "
          "APA, APCPA, APTPA"),
    _heco("aminer", DatasetStats(6564, 76838, 6564, 4),
          "Heterogeneous AMiner graph (paper, author, reference), papers labelled by area, one-hot features for "
          "every type (HeCo's files); meta-paths PAP, PRP"),
    _heco("freebase", DatasetStats(3492, 75517, 3492, 3),
          "Heterogeneous Freebase graph (movie, actor, director, writer), movies labelled by genre, one-hot "
          "features for every type (HeCo's files); meta-paths MAM, MDM, MWM"),
)

_SDCN_ENTRIES = (
    DatasetEntry(
        name="dblp-sdcn",
        format="sdcn",
        pyg_class=None,
        pyg_kwargs=MappingProxyType({}),
        subdir="heco",
        raw_files=("dblp/a_feat.npz", "dblp/pa.txt", "dblp/labels.npy"),
        source_url=_HECO_URL,
        license="None stated by liun-online/HeCo; cite the HeCo paper (data) and SDCN (benchmark)",
        paper=("Bo et al., Structural Deep Clustering Network, WWW 2020, https://arxiv.org/abs/2002.01633 "
               "(the DBLP clustering benchmark); files from HeCo (KDD 2021)"),
        stats=DatasetStats(4057, 7056, 334, 4),
        description="SDCN-style DBLP: authors, raw binary a_feat features, co-authorship (APA) graph without "
                    "self-loops, 4 areas (graphcl.data.sdcn)",
    ),
)

_ENTRIES: tuple[DatasetEntry, ...] = (
    _planetoid("cora", "Cora", DatasetStats(2708, 10556, 1433, 7),
               "Citation graph of machine-learning papers, binary bag-of-words features",
               _CORA_SHA256),
    _planetoid("citeseer", "CiteSeer", DatasetStats(3327, 9104, 3703, 6),
               "Citation graph of computer-science papers, binary bag-of-words features", {}),
    _planetoid("pubmed", "PubMed", DatasetStats(19717, 88648, 500, 3),
               "Citation graph of diabetes papers, TF-IDF features", _PUBMED_SHA256),
    _gnn_benchmark("amazon-computers", "Amazon", "Computers", "Computers",
                   "amazon_electronics_computers.npz", DatasetStats(13752, 491722, 767, 10),
                   "Amazon co-purchase graph (computers), bag-of-words of reviews",
                   "MIT (shchur/gnn-benchmark); data from the Amazon review crawl of McAuley et al. "
                   "(SIGIR 2015)", ("computers",)),
    _gnn_benchmark("amazon-photo", "Amazon", "Photo", "Photo",
                   "amazon_electronics_photo.npz", DatasetStats(7650, 238162, 745, 8),
                   "Amazon co-purchase graph (photo), bag-of-words of reviews",
                   "MIT (shchur/gnn-benchmark); data from the Amazon review crawl of McAuley et al. "
                   "(SIGIR 2015)", ("photo",)),
    _gnn_benchmark("coauthor-cs", "Coauthor", "CS", "CS", "ms_academic_cs.npz",
                   DatasetStats(18333, 163788, 6805, 15),
                   "Co-authorship graph (computer science), paper keywords as features",
                   "MIT (shchur/gnn-benchmark); data from the Microsoft Academic Graph (KDD Cup 2016)",
                   ("cs",)),
    _gnn_benchmark("coauthor-physics", "Coauthor", "Physics", "Physics", "ms_academic_phy.npz",
                   DatasetStats(34493, 495924, 8415, 5),
                   "Co-authorship graph (physics), paper keywords as features",
                   "MIT (shchur/gnn-benchmark); data from the Microsoft Academic Graph (KDD Cup 2016)",
                   ("physics",)),
    DatasetEntry(
        name="wikics",
        format="wikics-json",
        pyg_class="WikiCS",
        pyg_kwargs=MappingProxyType({"is_undirected": True}),
        subdir="wikics",
        raw_files=("raw/data.json",),
        source_url="https://github.com/pmernyei/wiki-cs-dataset/raw/master/dataset",
        license="MIT (pmernyei/wiki-cs-dataset); text from Wikipedia",
        paper=("Mernyei & Cangea, Wiki-CS: A Wikipedia-Based Benchmark for Graph Neural Networks, "
               "GRL+ workshop @ ICML 2020, https://arxiv.org/abs/2007.02901"),
        stats=DatasetStats(11701, 431726, 300, 10),
        description="Hyperlink graph of computer-science Wikipedia articles, GloVe features",
        aliases=("wiki-cs",),
    ),
    DatasetEntry(
        name="generated",
        format="generated",
        pyg_class=None,
        pyg_kwargs=MappingProxyType({}),
        subdir=None,
        raw_files=(),
        source_url="graphcl.data.generated.make_community_graph (built in memory, no files)",
        license="MIT (this library)",
        paper=("Planted communities of varying strength in the spirit of Lancichinetti, Fortunato & "
               "Radicchi, Phys. Rev. E 78, 2008 (LFR)"),
        stats=DatasetStats(3000, 17452, 500, 6),
        description="Planted communities of different strengths, labels on groups of communities "
                    "(statistics for the defaults, seed 0)",
        aliases=("community", "synthetic"),
    ),
    DatasetEntry(
        name="generated-uneven",
        format="generated",
        pyg_class=None,
        pyg_kwargs=MappingProxyType({"density_ratio": 10.0}),
        subdir=None,
        raw_files=(),
        source_url="graphcl.data.generated.make_community_graph(density_ratio=10) (built in memory, no files)",
        license="MIT (this library)",
        paper=("Planted communities of varying strength in the spirit of Lancichinetti, Fortunato & "
               "Radicchi, Phys. Rev. E 78, 2008 (LFR)"),
        stats=DatasetStats(3000, 23752, 500, 6),
        description="The generated graph with communities of different densities (the strongest 10x denser "
                    "than the weakest): strongly uneven community strengths, where CSGCL's Team-up weights vary "
                    "(statistics for seed 0)",
    ),
    *_HECO_ENTRIES,
    *_SDCN_ENTRIES,
)

DATASETS: Mapping[str, DatasetEntry] = MappingProxyType({entry.name: entry for entry in _ENTRIES})
"""The catalog: dataset name -> :class:`DatasetEntry`, in a stable order."""

_ALIASES: Mapping[str, str] = MappingProxyType(
    {alias: entry.name for entry in _ENTRIES for alias in entry.aliases}
)


def dataset_names() -> list[str]:
    """Names of all catalog datasets, in catalog order."""
    return list(DATASETS)


def get_entry(name: str) -> DatasetEntry:
    """Looks a dataset up by name (case-insensitive; ``_`` and ``-`` are interchangeable; aliases).

    Args:
        name: Dataset name, e.g. ``"Cora"`` or ``"amazon_photo"``.

    Returns:
        The catalog entry.

    Raises:
        DataError: The name is unknown; the message suggests the closest names and lists all.
    """
    if not isinstance(name, str):
        raise DataError(f"dataset name must be a string, got {type(name).__name__}: {name!r}")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key in DATASETS:
        return DATASETS[key]
    close = difflib.get_close_matches(key, list(DATASETS) + list(_ALIASES), n=3, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES.get(match, match) for match in close))
    hint = f" Did you mean {' or '.join(repr(match) for match in close)}?" if close else ""
    raise DataError(
        f"Unknown dataset {name!r}.{hint} Available datasets: {', '.join(DATASETS)}."
    )
