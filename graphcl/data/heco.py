"""HeCo-format heterogeneous graphs (Wang et al., KDD 2021, https://arxiv.org/abs/2105.09111) as ``HeteroData``.

A HeCo dataset folder holds, for one *target* node type with labels:

- ``<t>_feat.npz``: features of node type ``t`` — a ``scipy.sparse.save_npz`` file, L1 row-normalised on load
  (all-zero rows stay zero), **or** a plain dense ``.npy`` array saved under a ``.npz`` name (DBLP's
  ``t_feat.npz``), used as it is. A type without a feature file gets one-hot features (a sparse identity), or
  with ``load_heco(..., features="metapath2vec")`` 64-d metapath2vec embeddings learned on the relations
  (:class:`graphcl.transforms.MetaPath2VecFeatures`, MEOW's AMiner setting; cached beside the processed file).
- ``<xy>.txt``: a relation as an edge list, two integer columns of 0-based local ids (column 0 of type ``x``).
- ``labels.npy`` (class ids of the target nodes, any integer or float values; remapped to ``0..C-1``) and
  ``{train,val,test}_{20,40,60}.npy`` (index arrays; ``train_r`` holds ``r`` labelled nodes per class).
- optionally ``pos.npz``: HeCo's positive pairs, a ``scipy.sparse.save_npz`` ``N × N`` matrix over the target nodes
  whose non-zero ``(i, j)`` says that ``j`` is a positive of ``i`` (the top meta-path-count neighbours, HeCo's
  ``data/pos.py``); read, when the folder has it, into ``data[target].positive_index`` (``[2, P]``).

Meta-path matrices are **computed** from the relation edge lists, never read: for a meta-path
``t_0 - t_1 - ... - t_L`` with binary incidence matrices :math:`R_{\\ell}` between consecutive types,

.. math::
    C = R_1 R_2 \\cdots R_L, \\qquad C_{ij} = \\#\\{\\text{path instances from } i \\text{ to } j\\},

and for a symmetric meta-path of even length :math:`C = H H^\\top` with :math:`H = R_1 \\cdots R_{L/2}` (half the
products). The counts are kept (PathSim needs them), the diagonal included. The files ``pap.npz``... a folder may
ship are ignored (HeCo's are boolean).

The datasets differ only by a small declarative :class:`HecoDescription`; :data:`HECO_DATASETS` ships ACM, DBLP
(MEOW's feature regime: real author / paper / term features where the files exist), AMiner and Freebase (HeCo's:
one-hot features for every type without a file).

Public API (kept stable, other models build on it): :func:`load_heco` and :func:`metapath_adjacency`.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from graphcl.errors import ConfigError, DataError
from graphcl.safe_load import load_numpy, load_torch, sha256_of

if TYPE_CHECKING:
    from graphcl.transforms.metapath2vec import MetaPath2VecFeatures

log = logging.getLogger(__name__)
_T = TypeVar("_T")

__all__ = [
    "HECO_DATASETS",
    "HecoDescription",
    "MetaPath",
    "NodeType",
    "Relation",
    "attach_metapaths",
    "load_heco",
    "metapath_adjacency",
    "metapath_reachability",
    "relation_types",
]

EdgeType = tuple[str, str, str]


@dataclass(frozen=True)
class NodeType:
    """One node type of a HeCo dataset.

    Args:
        name: Node type name in the ``HeteroData`` (e.g. ``"paper"``).
        num_nodes: Number of nodes; ``None`` infers it from the feature file or the largest id in the
            relation files.
        features: Feature file name in the dataset folder (e.g. ``"p_feat.npz"``); ``None`` gives one-hot
            features (a sparse identity, as HeCo does for featureless types).
        expected_num_nodes: The count of the published files, when the count is read from the folder
            (``num_nodes=None``): a folder whose target type has another count loads with a warning (a subset or
            another version of the dataset). Counts of one-hot types are ``max id + 1`` over their relation files
            (trailing nodes without any edge would only add unused one-hot dimensions).
    """

    name: str
    num_nodes: int | None = None
    features: str | None = None
    expected_num_nodes: int | None = None


@dataclass(frozen=True)
class Relation:
    """A relation stored as an edge list file: column 0 holds ``src`` ids, column 1 ``dst`` ids.

    Args:
        file: File name in the dataset folder (e.g. ``"pa.txt"``).
        src: Node type of column 0.
        dst: Node type of column 1.
    """

    file: str
    src: str
    dst: str


@dataclass(frozen=True)
class MetaPath:
    """A meta-path over node types, plus the intermediate positions whose nodes form its *context* (MEOW).

    Args:
        name: Short name, also the relation name of the stored meta-path graph (e.g. ``"APCPA"``).
        node_types: The node types along the path, first and last equal to the target type for the
            meta-paths used as graphs (e.g. ``("author", "paper", "conference", "paper", "author")``).
        context: Intermediate positions (indices into ``node_types``, ``0 < p < len - 1``) whose reachable
            nodes form the meta-path context (MEOW uses the first half: APCPA → ``(1, 2, 3)``).
        relations: The edge type to follow at each step, for graphs with several relations between the same
            two types; ``None`` picks the unique relation between consecutive types.
    """

    name: str
    node_types: tuple[str, ...]
    context: tuple[int, ...] = ()
    relations: tuple[EdgeType, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.node_types) < 2:
            raise DataError(f"meta-path {self.name!r}: needs at least two node types, got {self.node_types}")
        for position in self.context:
            if not 0 < position < len(self.node_types) - 1:
                raise DataError(
                    f"meta-path {self.name!r}: context position {position} is not an intermediate position "
                    f"of {'-'.join(self.node_types)} (valid: 1..{len(self.node_types) - 2})"
                )
        if self.relations is not None:
            if len(self.relations) != len(self.node_types) - 1:
                raise DataError(
                    f"meta-path {self.name!r}: {len(self.relations)} relations given for "
                    f"{len(self.node_types) - 1} steps"
                )
            for step, (edge_type, a, b) in enumerate(
                zip(self.relations, self.node_types[:-1], self.node_types[1:])
            ):
                if {edge_type[0], edge_type[2]} != {a, b}:
                    raise DataError(
                        f"meta-path {self.name!r}: step {step} goes {a} -> {b} but its relation "
                        f"{edge_type} does not connect these types"
                    )

    @property
    def is_symmetric(self) -> bool:
        """Whether the path reads the same backwards (then :math:`C = H H^\\top`)."""
        return self.node_types == self.node_types[::-1] and self.relations is None


@dataclass(frozen=True)
class HecoDescription:
    """Declarative description of one HeCo-format dataset.

    Args:
        name: Dataset name (also the default sub-folder of ``root``).
        target: The labelled node type; meta-paths start and end there.
        node_types: All node types.
        relations: The relation files.
        metapaths: The meta-paths (graphs over the target type) with their context positions.
        labels: Label file name.
        label_rates: Labelled nodes per class of the shipped splits (``train_<r>.npy`` ...).
        positives: The optional file of HeCo's positive pairs (read when present).
        paper: Where the dataset comes from.
    """

    name: str
    target: str
    node_types: tuple[NodeType, ...]
    relations: tuple[Relation, ...]
    metapaths: tuple[MetaPath, ...]
    labels: str = "labels.npy"
    label_rates: tuple[int, ...] = (20, 40, 60)
    positives: str = "pos.npz"
    paper: str = field(default="Wang et al., Self-supervised Heterogeneous Graph Neural Network with "
                                "Co-contrastive Learning, KDD 2021, https://arxiv.org/abs/2105.09111")

    def __post_init__(self) -> None:
        names = [node_type.name for node_type in self.node_types]
        if len(set(names)) != len(names):
            raise DataError(f"dataset {self.name!r}: duplicate node types in {names}")
        if self.target not in names:
            raise DataError(f"dataset {self.name!r}: target type {self.target!r} is not among {names}")
        for relation in self.relations:
            for end in (relation.src, relation.dst):
                if end not in names:
                    raise DataError(
                        f"dataset {self.name!r}: relation file {relation.file!r} uses the unknown node type "
                        f"{end!r} (known: {names})"
                    )
        pairs = {frozenset((relation.src, relation.dst)) for relation in self.relations}
        for metapath in self.metapaths:
            if metapath.node_types[0] != self.target or metapath.node_types[-1] != self.target:
                raise DataError(
                    f"dataset {self.name!r}: meta-path {metapath.name!r} must start and end at the target "
                    f"type {self.target!r}, got {'-'.join(metapath.node_types)}"
                )
            for a, b in zip(metapath.node_types[:-1], metapath.node_types[1:]):
                if frozenset((a, b)) not in pairs:
                    raise DataError(
                        f"dataset {self.name!r}: meta-path {metapath.name!r} does not chain: no relation "
                        f"between {a!r} and {b!r} (relations: "
                        f"{', '.join(f'{r.src}-{r.dst} ({r.file})' for r in self.relations)})"
                    )

    def node_type(self, name: str) -> NodeType:
        """The :class:`NodeType` called ``name``."""
        for node_type in self.node_types:
            if node_type.name == name:
                return node_type
        raise DataError(f"dataset {self.name!r} has no node type {name!r}")


def _paths(target: str, spec: Mapping[str, tuple[str, ...]], context: Mapping[str, tuple[int, ...]]
           ) -> tuple[MetaPath, ...]:
    return tuple(MetaPath(name, types, context.get(name, ())) for name, types in spec.items())


def _types(**types: tuple[int, str | None]) -> tuple[NodeType, ...]:
    """Node types whose counts are read from the folder, with the published counts as ``expected_num_nodes``."""
    return tuple(NodeType(name, None, features, expected) for name, (expected, features) in types.items())


HECO_DATASETS: Mapping[str, HecoDescription] = {
    "acm": HecoDescription(
        name="acm",
        target="paper",
        node_types=(_types(paper=(4019, "p_feat.npz"), author=(7167, "a_feat.npz"), subject=(60, None))),
        relations=(Relation("pa.txt", "paper", "author"), Relation("ps.txt", "paper", "subject")),
        metapaths=_paths("paper", {"PAP": ("paper", "author", "paper"),
                                   "PSP": ("paper", "subject", "paper")}, {"PAP": (1,), "PSP": (1,)}),
    ),
    "dblp": HecoDescription(
        name="dblp",
        target="author",
        node_types=(_types(author=(4057, "a_feat.npz"), paper=(14328, "p_feat.npz"), term=(7723, "t_feat.npz"),
                          conference=(20, None))),
        relations=(Relation("pa.txt", "paper", "author"), Relation("pc.txt", "paper", "conference"),
                   Relation("pt.txt", "paper", "term")),
        metapaths=_paths(
            "author",
            {"APA": ("author", "paper", "author"),
             "APCPA": ("author", "paper", "conference", "paper", "author"),
             "APTPA": ("author", "paper", "term", "paper", "author")},
            {"APA": (1,), "APCPA": (1, 2, 3), "APTPA": (1, 2, 3)},
        ),
    ),
    "aminer": HecoDescription(
        name="aminer",
        target="paper",
        node_types=(_types(paper=(6564, None), author=(13329, None), reference=(35890, None))),
        relations=(Relation("pa.txt", "paper", "author"), Relation("pr.txt", "paper", "reference")),
        metapaths=_paths("paper", {"PAP": ("paper", "author", "paper"),
                                   "PRP": ("paper", "reference", "paper")}, {"PAP": (1,), "PRP": (1,)}),
    ),
    "freebase": HecoDescription(
        name="freebase",
        target="movie",
        node_types=(_types(movie=(3492, None), actor=(33401, None), director=(2502, None), writer=(4459, None))),
        relations=(Relation("ma.txt", "movie", "actor"), Relation("md.txt", "movie", "director"),
                   Relation("mw.txt", "movie", "writer")),
        metapaths=_paths("movie", {"MAM": ("movie", "actor", "movie"),
                                   "MDM": ("movie", "director", "movie"),
                                   "MWM": ("movie", "writer", "movie")},
                         {"MAM": (1,), "MDM": (1,), "MWM": (1,)}),
    ),
}
"""The four HeCo datasets, each also a catalog dataset (``graphcl train --dataset aminer --root DIR``). Only ACM and
DBLP files are staged with this project; AMiner and Freebase load from HeCo's folders (one-hot features, as in HeCo).
Node counts are read from the folder (features, labels, relation files); the published counts are expected and a
target count that differs loads with a warning, so a subset or a rebuilt folder in the same layout loads too."""


# ----------------------------------------------------------------------------------------------------- loading


def load_heco(
    name_or_description: str | HecoDescription,
    root: str | Path,
    *,
    compute_metapaths: bool = True,
    sparse_features: bool = False,
    cache: bool = True,
    features: str = "onehot",
    metapath2vec: Mapping[str, Any] | None = None,
) -> HeteroData:
    """Loads a HeCo-format dataset (Wang et al., KDD 2021) into a :class:`~torch_geometric.data.HeteroData`.

    Parsing the text files and computing the meta-path graphs is done once: the result is saved as a processed
    file (tensors and plain containers, :func:`torch.save`) named by a key over the SHA-256 of every raw file, the
    description and the options, in ``<folder>/processed/`` or, when the folder is read-only, under
    ``<default data root>/_processed/heco/``. A later load with the same files reads it back with
    :func:`graphcl.safe_load.load_torch` (never unpickling objects); a changed raw file gives another key; a
    processed file that is unreadable, refused or inconsistent is ignored and rebuilt.

    Args:
        name_or_description: ``"acm"``, ``"dblp"``, ``"aminer"``, ``"freebase"`` or a :class:`HecoDescription`.
        root: The dataset folder itself (holding ``labels.npy``) or a folder holding ``<name>/``.
        compute_metapaths: Compute every declared meta-path graph now and store it as the edge type
            ``(target, name, target)`` with ``edge_index`` and ``edge_weight`` (the path counts). Otherwise
            :func:`metapath_adjacency` computes them on demand. (default: ``True``)
        sparse_features: Keep file features as sparse COO tensors instead of dense ones (one-hot types are
            always sparse identities). (default: ``False``)
        cache: Read and write the processed file (see above), and the learned features of
            ``features="metapath2vec"``. (default: ``True``)
        features: Features of the node types without a feature file: ``"onehot"`` (a sparse identity, HeCo's
            setting) or ``"metapath2vec"``: dense ``[N_t, 64]`` embeddings learned on the relations by
            :class:`graphcl.transforms.MetaPath2VecFeatures` (the setting of MEOW's authors on AMiner; it takes
            minutes on AMiner, see the class). The learned features are saved beside the processed file, keyed on
            the raw files' SHA-256 and the transform's arguments, so a later load does not train them again.
            (default: ``"onehot"``)
        metapath2vec: Keyword arguments of :class:`~graphcl.transforms.MetaPath2VecFeatures` with
            ``features="metapath2vec"`` (e.g. ``{"epochs": 10, "seed": 1}``); ``node_types`` defaults to the types
            without a feature file. (default: ``None``, the class defaults)

    Returns:
        A ``HeteroData`` with, per node type, ``x`` and ``num_nodes``; per relation file both directions
        ``(src, "to", dst)`` and ``(dst, "to", src)``; for the target type ``y`` (``0..C-1``) and index tensors
        ``train_idx_<r>``, ``val_idx_<r>``, ``test_idx_<r>`` (duplicates kept as shipped) and, when the folder
        has ``pos.npz``, ``positive_index`` (``[2, P]``, HeCo's positive pairs, row-major); the meta-path graphs
        (see ``compute_metapaths``); and the attributes ``target_type``, ``metapath_specs`` (the
        :class:`MetaPath` tuple), ``label_rates``, ``dataset_name``.

    Raises:
        DataError: Unknown name, missing files (all listed), malformed files, ids out of range (file and line
            named), labels/splits inconsistent with the target type.
        ConfigError: An unknown ``features`` value or a bad ``metapath2vec`` argument.
    """
    description = _resolve_description(name_or_description)
    transform = _feature_transform(description, features, metapath2vec)
    folder = _resolve_folder(description, Path(root))
    files = _check_files(description, folder)
    digests = _file_digests(folder, files) if cache else None
    key = _cache_key(description, digests, compute_metapaths, sparse_features) if digests is not None else None
    data = _read_cache(description, folder, key) if key is not None else None
    if data is None:
        data = _parse(description, folder, compute_metapaths, sparse_features)
        if key is not None:
            _write_cache(data, description, folder, key)
    if transform is not None:
        data = _with_learned_features(data, description, folder, transform, digests)
    return data


_FEATURE_CHOICES = ("onehot", "metapath2vec")


def _feature_transform(description: HecoDescription, features: str, options: Mapping[str, Any] | None
                       ) -> MetaPath2VecFeatures | None:
    """The transform of ``features`` (``None`` for one-hot features), its arguments checked before any file is
    read."""
    if features not in _FEATURE_CHOICES:
        raise ConfigError(f"HeCo dataset {description.name!r}: features={features!r} is not one of "
                          f"{', '.join(_FEATURE_CHOICES)}")
    if features == "onehot":
        if options is not None:
            raise ConfigError(f"HeCo dataset {description.name!r}: metapath2vec options are given but "
                              f"features='onehot'; add features=metapath2vec")
        return None
    from graphcl.transforms.metapath2vec import MetaPath2VecFeatures

    options = {} if options is None else options
    if not isinstance(options, Mapping):
        raise ConfigError(f"HeCo dataset {description.name!r}: metapath2vec must be a mapping of "
                          f"MetaPath2VecFeatures arguments (e.g. {{epochs: 10}}), got {options!r}")
    accepted = [name for name in inspect.signature(MetaPath2VecFeatures).parameters]
    unknown = [name for name in options if name not in accepted]
    if unknown:
        raise ConfigError(f"HeCo dataset {description.name!r}: unknown metapath2vec option(s) {unknown}; "
                          f"accepted: {', '.join(accepted)}")
    featureless = [t.name for t in description.node_types if t.features is None]
    if "node_types" not in options and not featureless:
        raise ConfigError(f"HeCo dataset {description.name!r}: features=metapath2vec, but every node type has a "
                          f"feature file; name the types to replace with metapath2vec={{node_types: [...]}}")
    return MetaPath2VecFeatures(**{"node_types": featureless, **options})


def _parse(description: HecoDescription, folder: Path, compute_metapaths: bool, sparse_features: bool
           ) -> HeteroData:
    data = HeteroData()
    data.dataset_name = description.name
    data.target_type = description.target
    data.metapath_specs = description.metapaths
    data.label_rates = description.label_rates

    features = {t.name: _read_features(folder / t.features) for t in description.node_types if t.features}
    edges = {relation.file: _read_edge_list(folder / relation.file) for relation in description.relations}
    counts = _node_counts(description, features, edges, _label_count(folder / description.labels))
    _warn_unexpected_count(description, counts, folder)

    for node_type in description.node_types:
        n = counts[node_type.name]
        if node_type.features is None:
            data[node_type.name].x = _sparse_identity(n)
        else:
            matrix = features[node_type.name]
            if matrix.shape[0] != n:
                raise DataError(
                    f"{folder / node_type.features}: {matrix.shape[0]} rows but {n} {node_type.name} nodes "
                    f"declared for dataset {description.name!r}"
                )
            data[node_type.name].x = _to_tensor(matrix, sparse_features)
        data[node_type.name].num_nodes = n

    for relation in description.relations:
        edge_index = _check_edges(folder / relation.file, edges[relation.file],
                                  counts[relation.src], counts[relation.dst])
        data[relation.src, "to", relation.dst].edge_index = edge_index
        data[relation.dst, "to", relation.src].edge_index = edge_index.flip(0)

    _read_labels_and_splits(data, description, folder, counts[description.target])
    if (folder / description.positives).is_file():
        data[description.target].positive_index = _read_positives(folder / description.positives,
                                                                  counts[description.target])
    if compute_metapaths:
        for metapath in description.metapaths:
            metapath_adjacency(data, metapath)
    return data


def _resolve_description(name_or_description: str | HecoDescription) -> HecoDescription:
    if isinstance(name_or_description, HecoDescription):
        return name_or_description
    key = str(name_or_description).strip().lower()
    if key not in HECO_DATASETS:
        raise DataError(
            f"Unknown HeCo dataset {name_or_description!r}; known: {', '.join(HECO_DATASETS)} "
            f"(or pass a HecoDescription)"
        )
    return HECO_DATASETS[key]


def _resolve_folder(description: HecoDescription, root: Path) -> Path:
    root = root.expanduser()
    for candidate in (root, root / description.name, root / "heco" / description.name):
        if (candidate / description.labels).is_file():
            return candidate
    if (root / description.name).is_dir():
        return root / description.name
    return root


def _check_files(description: HecoDescription, folder: Path) -> list[str]:
    """The raw file names the description needs, all present in ``folder`` (else a DataError listing the missing
    ones)."""
    required = [description.labels]
    required += [t.features for t in description.node_types if t.features]
    required += [relation.file for relation in description.relations]
    required += [f"{part}_{rate}.npy" for rate in description.label_rates for part in ("train", "val", "test")]
    missing = [name for name in required if not (folder / name).is_file()]
    if not missing:
        optional = [description.positives] if (folder / description.positives).is_file() else []
        return required + optional
    raise DataError(
        f"HeCo dataset {description.name!r}: {len(missing)} file(s) missing in {folder}: "
        f"{', '.join(missing)}. Expected the HeCo layout (https://github.com/liun-online/HeCo, data/"
        f"{description.name}/)."
    )


# ------------------------------------------------------------------------------------------- processed cache

_CACHE_FORMAT = 1
_CACHE_PREFIX = "heco-"


def _file_digests(folder: Path, files: Sequence[str]) -> list[str]:
    """``name:sha256`` of every raw file."""
    return [f"{name}:{sha256_of(folder / name)}" for name in files]


def _cache_key(description: HecoDescription, digests: Sequence[str], compute_metapaths: bool,
               sparse_features: bool) -> str:
    """SHA-256 over the cache format, the description, the options and every raw file's name and SHA-256."""
    return _sha256_key(f"{_CACHE_FORMAT}\n{description!r}\n{compute_metapaths}\n{sparse_features}\n", digests)


def _sha256_key(header: str, digests: Sequence[str]) -> str:
    """Hex SHA-256 of ``header`` followed by one ``name:sha256`` line per raw file (:func:`_file_digests`)."""
    digest = hashlib.sha256(header.encode())
    for line in digests:
        digest.update(f"{line}\n".encode())
    return digest.hexdigest()


def _cache_folders(folder: Path) -> list[Path]:
    from graphcl.data.roots import _USER_CACHE, default_data_root

    base = Path("_processed") / "heco"
    return [folder / "processed", default_data_root() / base, _USER_CACHE.expanduser() / base,
            Path(tempfile.gettempdir()) / "graphrec-cl" / base]


def _cache_file(description: HecoDescription, key: str) -> str:
    return f"{_CACHE_PREFIX}{description.name}-{key[:32]}.pt"


_CACHE_READ_ERRORS = (DataError, KeyError, TypeError, ValueError, IndexError, RuntimeError)


def _read_cached(folder: Path, file_name: str, what: str, parse: Callable[[object], _T], redo: str
                 ) -> tuple[Path, _T] | None:
    """The first cache folder's ``file_name`` that loads safely and that ``parse`` accepts, with its path; a file
    that fails is logged (``"<path>: ignored and <redo> (<why>)"``) and the next folder is tried."""
    for cache_dir in _cache_folders(folder):
        path = cache_dir / file_name
        if not path.is_file():
            continue
        try:
            return path, parse(load_torch(path, what=what))
        except _CACHE_READ_ERRORS as exc:
            log.warning("%s: ignored and %s (%s)", path, redo, exc)
    return None


def _write_cached(payload: object, folder: Path, file_name: str, what: str) -> None:
    """Saves ``payload`` as ``file_name`` in the first writable cache folder (through a ``.partial`` file, so a
    reader never sees half a file); a folder that fails is logged and the next one tried."""
    from graphcl.data.roots import is_writable

    for cache_dir in _cache_folders(folder):
        if not is_writable(cache_dir):
            continue
        path = cache_dir / file_name
        partial = path.with_name(path.name + ".partial")
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            torch.save(payload, partial)
            partial.replace(path)
        except OSError as exc:
            log.warning("could not write the %s %s (%s)", what, path, exc)
            continue
        return


def _read_cache(description: HecoDescription, folder: Path, key: str) -> HeteroData | None:
    found = _read_cached(folder, _cache_file(description, key), "processed HeCo file",
                         lambda payload: _from_plain(payload, description, key), "rebuilt")
    if found is None:
        return None
    log.info("%s: processed file of %s (raw files unchanged)", found[0], description.name)
    return found[1]


def _write_cache(data: HeteroData, description: HecoDescription, folder: Path, key: str) -> None:
    _write_cached(_to_plain(data, key), folder, _cache_file(description, key), "processed file")


_FEATURES_FORMAT = 1


def _features_key(description: HecoDescription, digests: Sequence[str], transform: MetaPath2VecFeatures) -> str:
    """SHA-256 over the features format, the description, the transform's arguments and the raw files' SHA-256
    (not the loader's other options: the learned features do not depend on them)."""
    arguments = json.dumps(transform.arguments(), sort_keys=True)
    return _sha256_key(f"{_FEATURES_FORMAT}\n{description!r}\n{type(transform).__name__}\n{arguments}\n", digests)


def _with_learned_features(data: HeteroData, description: HecoDescription, folder: Path,
                           transform: MetaPath2VecFeatures, digests: Sequence[str] | None) -> HeteroData:
    """``data`` with the transform's features, read from their cache file when one matches, else learned (and
    saved when ``digests`` is given, i.e. caching is on)."""
    if digests is None:
        features = transform.embed(data)
    else:
        key = _features_key(description, digests, transform)
        name = f"{_CACHE_PREFIX}{description.name}-metapath2vec-{key[:32]}.pt"
        found = _read_cached(folder, name, "learned HeCo features",
                             lambda payload: _checked_features(payload, data, key, transform), "learned again")
        if found is not None:
            features = found[1]
            log.info("%s: learned features of %s (raw files and arguments unchanged)", found[0],
                     ", ".join(features))
        else:
            features = transform.embed(data)
            _write_cached({"format": _FEATURES_FORMAT, "key": key, "features": dict(features)}, folder, name,
                          "learned features")
    for node_type, x in features.items():
        data[node_type].x = x
    return data


def _checked_features(payload: object, data: HeteroData, key: str, transform: MetaPath2VecFeatures
                      ) -> dict[str, torch.Tensor]:
    """The features of a cache file's payload, if they are those of these raw files and arguments."""
    if not isinstance(payload, dict) or payload.get("format") != _FEATURES_FORMAT \
            or payload.get("key") != key or not isinstance(payload.get("features"), dict):
        raise DataError("not a features file of these raw files and arguments")
    features = payload["features"]
    expected = transform.node_types or []
    if sorted(features) != sorted(expected):
        raise DataError(f"features of {sorted(features)} instead of {sorted(expected)}")
    for node_type, x in features.items():
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float32 or x.layout != torch.strided \
                or tuple(x.shape) != (data[node_type].num_nodes, transform.embedding_dim) \
                or not bool(torch.isfinite(x).all()):
            raise DataError(f"bad features of {node_type!r}")
    return features


def _plain_tensor(value: torch.Tensor) -> object:
    """Compact form: sparse COO parts (also for mostly-zero dense features, ``dense`` marks them), int64 ids as
    int32 (the DBLP meta-path graphs hold 12 M edges)."""
    if value.is_sparse or (value.dim() == 2 and value.is_floating_point()
                           and int(torch.count_nonzero(value)) < 0.25 * value.numel()):
        dense = not value.is_sparse
        value = (value.to_sparse() if dense else value).coalesce()
        return {"sparse_coo": True, "dense": dense, "indices": _plain_tensor(value.indices()),
                "values": value.values(), "size": list(value.shape)}
    if value.dtype == torch.long and value.numel() and int(value.abs().max()) < 2**31:
        return {"int32": value.to(torch.int32)}
    return value


def _to_plain(data: HeteroData, key: str) -> dict:
    """Tensors and plain containers only (what :func:`graphcl.safe_load.load_torch` reads back)."""
    def store(values: Mapping[str, object]) -> dict:
        return {name: _plain_tensor(value) if isinstance(value, torch.Tensor) else int(value)
                for name, value in values.items()}

    return {"format": _CACHE_FORMAT, "key": key,
            "nodes": {t: store(data[t].to_dict()) for t in data.node_types},
            "edges": [[*edge_type, store(data[edge_type].to_dict())] for edge_type in data.edge_types]}


def _from_plain(payload: object, description: HecoDescription, key: str) -> HeteroData:
    """Rebuilds the graph from :func:`_to_plain`'s payload, checking its structure (a mismatch raises)."""
    if not isinstance(payload, dict) or payload.get("format") != _CACHE_FORMAT or payload.get("key") != key:
        raise DataError("not a processed file of these raw files")
    nodes, edges = payload["nodes"], payload["edges"]
    if not isinstance(nodes, dict) or not isinstance(edges, list):
        raise DataError("malformed processed file")
    expected_types = {t.name for t in description.node_types}
    if set(nodes) != expected_types:
        raise DataError(f"node types {sorted(nodes)} instead of {sorted(expected_types)}")
    data = HeteroData()
    data.dataset_name = description.name
    data.target_type = description.target
    data.metapath_specs = description.metapaths
    data.label_rates = description.label_rates
    counts = {}
    for node_type, values in nodes.items():
        n = values["num_nodes"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DataError(f"bad node count for {node_type!r}")
        counts[node_type] = n
        for name, value in values.items():
            value = _tensor_from_plain(value) if name != "num_nodes" else value
            if name in ("x", "y") and value.size(0) != n:
                raise DataError(f"{node_type}.{name} has {value.size(0)} rows for {n} nodes")
            data[node_type][name] = value
    for entry in edges:
        src, relation, dst, values = entry
        if src not in counts or dst not in counts or not isinstance(relation, str):
            raise DataError(f"bad edge type {entry[:3]}")
        values = {name: _tensor_from_plain(value) for name, value in values.items()}
        edge_index = values["edge_index"]
        if not isinstance(edge_index, torch.Tensor) or edge_index.dtype != torch.long or edge_index.dim() != 2 \
                or edge_index.size(0) != 2:
            raise DataError(f"bad edge_index of {(src, relation, dst)}")
        if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index[0].max()) >= counts[src]
                                   or int(edge_index[1].max()) >= counts[dst]):
            raise DataError(f"edge ids of {(src, relation, dst)} out of range")
        for name, value in values.items():
            data[src, relation, dst][name] = value
    return data


def _tensor_from_plain(value: object) -> torch.Tensor:
    if isinstance(value, dict) and value.get("sparse_coo") is True:
        matrix = torch.sparse_coo_tensor(_tensor_from_plain(value["indices"]), value["values"],
                                         tuple(value["size"]), check_invariants=True).coalesce()
        return matrix.to_dense() if value["dense"] else matrix
    if isinstance(value, dict) and isinstance(value.get("int32"), torch.Tensor) and value["int32"].dtype == torch.int32:
        return value["int32"].to(torch.long)
    if not isinstance(value, torch.Tensor):
        raise DataError(f"expected a tensor, got {type(value).__name__}")
    return value


def _read_features(path: Path, *, normalize: bool = True) -> np.ndarray | sp.csr_matrix:
    """A ``save_npz`` sparse matrix (L1 row-normalised unless ``normalize=False``) or a dense array behind a
    misleading name (as is)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError / OSError / UnpicklingError for garbage
        raise DataError(f"{path}: not a numpy or scipy feature file ({type(exc).__name__}: {exc})") from exc
    if isinstance(loaded, np.ndarray):
        if loaded.ndim != 2:
            raise DataError(f"{path}: dense features must be 2-D, got shape {loaded.shape}")
        matrix = loaded.astype(np.float32)
        if not np.isfinite(matrix).all():
            raise DataError(f"{path}: features contain NaN or infinite values")
        return matrix
    loaded.close()
    try:
        matrix = sp.load_npz(path).tocsr().astype(np.float32)
    except Exception as exc:
        raise DataError(f"{path}: not a scipy.sparse.save_npz file ({type(exc).__name__}: {exc})") from exc
    if not np.isfinite(matrix.data).all():
        raise DataError(f"{path}: features contain NaN or infinite values")
    if not normalize:
        return matrix
    row_sums = np.asarray(abs(matrix).sum(axis=1)).ravel()
    inverse = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
    return sp.diags(inverse.astype(np.float32)) @ matrix


def _read_edge_list(path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on an empty file; handled below
            edges = np.loadtxt(path, dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path}: expected two integer columns per line ({exc})") from exc
    if edges.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if edges.shape[1] != 2:
        raise DataError(f"{path}: expected two integer columns per line, got {edges.shape[1]}")
    return edges


def data_line_number(path: Path, row: int) -> int:
    """The 1-based line of ``path`` that holds data row ``row`` of ``np.loadtxt`` (which skips blank lines and
    ``#`` comments); only called to word an error message."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        seen = -1
        for number, text in enumerate(handle, start=1):
            if text.split("#", 1)[0].strip():
                seen += 1
                if seen == row:
                    return number
    return row + 1


def _label_count(path: Path) -> int:
    """Rows of the label file (the number of target nodes); its contents are checked later."""
    labels = load_numpy(path, what="labels")
    if labels.ndim not in (1, 2):
        raise DataError(f"{path}: expected a vector of class ids (or one-hot rows), got shape {labels.shape}")
    return int(labels.shape[0])


def _warn_unexpected_count(description: HecoDescription, counts: Mapping[str, int], folder: Path) -> None:
    expected = description.node_type(description.target).expected_num_nodes
    found = counts[description.target]
    if expected is not None and found != expected:
        warnings.warn(f"{folder}: {found} {description.target} nodes, but the published {description.name!r} has "
                      f"{expected}: loading it as a subset or another version of the dataset", stacklevel=3)


def _node_counts(description: HecoDescription, features: Mapping[str, object],
                 edges: Mapping[str, np.ndarray], num_labels: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node_type in description.node_types:
        if node_type.num_nodes is not None:
            counts[node_type.name] = node_type.num_nodes
        elif node_type.name in features:
            counts[node_type.name] = features[node_type.name].shape[0]
        elif node_type.name == description.target:
            counts[node_type.name] = num_labels
        else:
            largest = -1
            for relation in description.relations:
                for column, end in enumerate((relation.src, relation.dst)):
                    ids = edges[relation.file][:, column]
                    if end == node_type.name and ids.size:
                        largest = max(largest, int(ids.max()))
            counts[node_type.name] = largest + 1
    return counts


def _check_edges(path: Path, edges: np.ndarray, num_src: int, num_dst: int) -> torch.Tensor:
    for column, bound in ((0, num_src), (1, num_dst)):
        bad = np.flatnonzero((edges[:, column] < 0) | (edges[:, column] >= bound))
        if bad.size:
            line = data_line_number(path, int(bad[0]))
            raise DataError(
                f"{path}, line {line}: id {int(edges[bad[0], column])} in column {column} is out of range "
                f"[0, {bound}) ({bad.size} such line(s))"
            )
    unique = np.unique(edges, axis=0)
    if unique.shape[0] != edges.shape[0]:
        # Duplicate lines would double-count every meta-path instance through them.
        warnings.warn(f"{path}: {edges.shape[0] - unique.shape[0]} duplicate edge(s) merged", stacklevel=3)
        edges = unique
    return torch.from_numpy(np.ascontiguousarray(edges.T))


def _read_labels_and_splits(data: HeteroData, description: HecoDescription, folder: Path, n: int) -> None:
    path = folder / description.labels
    labels = load_numpy(path, what="labels")
    if labels.dtype.kind not in "biuf":
        raise DataError(f"{path}: labels must be numeric class ids, got dtype {labels.dtype}")
    if labels.ndim == 2:  # one-hot labels (some HeCo forks) -> class ids
        labels = labels.argmax(axis=1)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise DataError(f"{path}: expected {n} labels for the {description.target} nodes, got shape "
                        f"{labels.shape}")
    if not np.isfinite(labels.astype(np.float64)).all():
        raise DataError(f"{path}: labels contain NaN or infinite values")
    _, class_ids = np.unique(labels, return_inverse=True)
    target = data[description.target]
    target.y = torch.from_numpy(class_ids.astype(np.int64))
    for rate in description.label_rates:
        for part in ("train", "val", "test"):
            split_path = folder / f"{part}_{rate}.npy"
            index = _split_index(split_path, load_numpy(split_path, what="node indices"))
            bad = np.flatnonzero((index < 0) | (index >= n))
            if bad.size:
                raise DataError(f"{split_path}: entry {int(bad[0])} = {int(index[bad[0]])} is out of range "
                                f"[0, {n}) for the {description.target} nodes")
            target[f"{part}_idx_{rate}"] = torch.from_numpy(index)


def _read_positives(path: Path, n: int) -> torch.Tensor:
    """HeCo's ``pos.npz`` as ``[2, P]`` (row, column) pairs sorted by row then column."""
    try:
        matrix = sp.load_npz(path).tocoo()
    except Exception as exc:  # numpy / scipy raise several types for garbage
        raise DataError(f"{path}: not a scipy.sparse.save_npz file ({type(exc).__name__}: {exc})") from exc
    if matrix.shape != (n, n):
        raise DataError(f"{path}: expected an {n} x {n} matrix of positive pairs over the target nodes, got "
                        f"{matrix.shape[0]} x {matrix.shape[1]}")
    keep = matrix.data != 0
    row, col = matrix.row[keep].astype(np.int64), matrix.col[keep].astype(np.int64)
    pairs = np.unique(np.stack([row, col], axis=1), axis=0)
    return torch.from_numpy(np.ascontiguousarray(pairs.T))


def _split_index(path: Path, index: np.ndarray) -> np.ndarray:
    """A split file's node indices as a flat int64 vector; fractional values or a real 2-D table are errors
    (``astype`` would silently truncate ``1.7`` to node ``1``)."""
    if index.size != max(index.shape, default=1):
        raise DataError(f"{path}: expected a vector of node indices, got shape {index.shape}")
    index = index.ravel()
    if index.dtype.kind == "f":
        fractional = np.flatnonzero(~np.isfinite(index) | (index != np.round(index)))
        if fractional.size:
            raise DataError(f"{path}: entry {int(fractional[0])} = {index[fractional[0]]} is not a node index "
                            f"(indices must be integers)")
    elif index.dtype.kind not in "iu":
        raise DataError(f"{path}: node indices must be integers, got dtype {index.dtype}")
    return index.astype(np.int64)


def _sparse_identity(n: int) -> torch.Tensor:
    index = torch.arange(n).repeat(2, 1)
    return torch.sparse_coo_tensor(index, torch.ones(n), (n, n), check_invariants=False).coalesce()


def _to_tensor(matrix: np.ndarray | sp.spmatrix, sparse: bool) -> torch.Tensor:
    if isinstance(matrix, np.ndarray):
        dense = torch.from_numpy(np.ascontiguousarray(matrix))
        return dense.to_sparse() if sparse else dense
    if sparse:
        coo = matrix.tocoo()
        index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        return torch.sparse_coo_tensor(index, torch.from_numpy(coo.data), coo.shape,
                                       check_invariants=False).coalesce()
    return torch.from_numpy(np.asarray(matrix.todense()))


# ------------------------------------------------------------------------------------------------- meta-paths


def attach_metapaths(
    data: HeteroData,
    target: str,
    metapaths: Sequence[MetaPath | Sequence[EdgeType]],
    *,
    names: Sequence[str] | None = None,
) -> HeteroData:
    """Declares meta-paths on any PyG ``HeteroData`` and stores their count graphs, so MEOW can train on it.

    Meta-paths can be :class:`MetaPath` objects or lists of edge types in the format of PyG's
    :class:`~torch_geometric.transforms.AddMetaPaths` (e.g. ``[("paper", "to", "author"), ("author", "to",
    "paper")]``); for the latter the context is the first half of the intermediate positions, as in MEOW.

    Args:
        data: The graph; must contain every edge type the meta-paths use and a ``target`` node type.
        target: The node type the meta-paths start and end at.
        metapaths: The meta-paths.
        names: Names of edge-type meta-paths (default ``"metapath_<i>"``, as ``AddMetaPaths``).

    Returns:
        ``data`` with ``target_type``, ``metapath_specs`` and the meta-path graphs set.

    Raises:
        DataError: Unknown types, a meta-path that does not chain or does not start/end at ``target``.
    """
    if target not in data.node_types:
        raise DataError(f"target node type {target!r} is not in the graph (node types: {data.node_types})")
    specs: list[MetaPath] = []
    for index, metapath in enumerate(metapaths):
        if isinstance(metapath, MetaPath):
            specs.append(metapath)
            continue
        edge_types = [tuple(edge_type) for edge_type in metapath]
        for step, (first, second) in enumerate(zip(edge_types[:-1], edge_types[1:])):
            if first[2] != second[0]:
                raise DataError(f"meta-path {index}: step {step} ends at {first[2]!r} but step {step + 1} "
                                f"starts at {second[0]!r}: the meta-path does not chain")
        node_types = tuple([edge_types[0][0]] + [edge_type[2] for edge_type in edge_types])
        length = len(node_types) - 1
        name = names[index] if names is not None else f"metapath_{index}"
        specs.append(MetaPath(name, node_types, tuple(range(1, (length + 1) // 2 + 1))
                              if length > 1 else (), tuple(edge_types)))
    for spec in specs:
        if spec.node_types[0] != target or spec.node_types[-1] != target:
            raise DataError(f"meta-path {spec.name!r} must start and end at {target!r}, got "
                            f"{'-'.join(spec.node_types)}")
    data.target_type = target
    data.metapath_specs = tuple(specs)
    for spec in specs:
        metapath_adjacency(data, spec)
    return data


def metapath_adjacency(
    data: HeteroData, metapath: str | MetaPath, *, store: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The meta-path graph of ``data`` as ``(edge_index, counts)``: every pair joined by at least one instance.

    .. math::
        C = R_1 R_2 \\cdots R_L \\quad(\\text{binary incidence } R_\\ell), \\qquad
        \\text{edge } (i, j) \\iff C_{ij} > 0, \\ \\text{weight } C_{ij}.

    Computed with sparse products (``C = H H^\\top`` for symmetric paths), the diagonal included (``C_ii`` = number
    of paths from ``i`` back to itself). The result is cached as the edge type ``(t_0, name, t_L)``.

    Args:
        data: A graph from :func:`load_heco` or :func:`attach_metapaths` (or any ``HeteroData`` holding the
            relations of ``metapath``).
        metapath: A declared meta-path name (``data.metapath_specs``) or a :class:`MetaPath`.
        store: Cache the result in ``data``. (default: ``True``)

    Returns:
        ``edge_index`` (``[2, E]``, int64, sorted by row then column) and ``counts`` (``[E]``, float32).
    """
    spec = resolve_metapath(data, metapath)
    key = (spec.node_types[0], spec.name, spec.node_types[-1])
    if key in data.edge_types and "edge_weight" in data[key]:
        return data[key].edge_index, data[key].edge_weight
    matrix = metapath_count_matrix(data, spec).tocoo()
    order = np.lexsort((matrix.col, matrix.row))
    edge_index = torch.from_numpy(np.vstack([matrix.row[order], matrix.col[order]]).astype(np.int64))
    counts = torch.from_numpy(matrix.data[order].astype(np.float32))
    if store:
        data[key].edge_index = edge_index
        data[key].edge_weight = counts
    return edge_index, counts


def resolve_metapath(data: HeteroData, metapath: str | MetaPath) -> MetaPath:
    """A declared meta-path by name (``data.metapath_specs``), or ``metapath`` itself."""
    if isinstance(metapath, MetaPath):
        return metapath
    specs = getattr(data, "metapath_specs", None) or ()
    for spec in specs:
        if spec.name == metapath:
            return spec
    raise DataError(f"unknown meta-path {metapath!r}; declared: {[spec.name for spec in specs]}")


def metapath_count_matrix(data: HeteroData, metapath: MetaPath) -> sp.csr_matrix:
    """The ``N_0 × N_L`` meta-path count matrix as a scipy CSR matrix (float64 counts)."""
    steps = _incidences(data, metapath)
    if metapath.is_symmetric and len(steps) % 2 == 0:
        half = _chain(steps[: len(steps) // 2])
        return (half @ half.T).tocsr()
    return _chain(steps)


def metapath_reachability(data: HeteroData, metapath: str | MetaPath, position: int) -> sp.csr_matrix:
    """Binary reachability ``1[R_1 \\cdots R_p > 0]`` from the start type to the nodes at ``position``."""
    spec = resolve_metapath(data, metapath)
    if not 0 < position < len(spec.node_types):
        raise DataError(f"meta-path {spec.name!r}: position {position} out of range")
    matrix = _chain(_incidences(data, spec)[:position])
    matrix.data[:] = 1.0
    return matrix


def _chain(matrices: Sequence[sp.csr_matrix]) -> sp.csr_matrix:
    result = matrices[0]
    for matrix in matrices[1:]:
        result = result @ matrix
    result = result.tocsr()
    result.sum_duplicates()
    result.eliminate_zeros()
    return result


def _incidences(data: HeteroData, metapath: MetaPath) -> list[sp.csr_matrix]:
    matrices = []
    for step, (a, b) in enumerate(zip(metapath.node_types[:-1], metapath.node_types[1:])):
        edge_type = metapath.relations[step] if metapath.relations is not None else _find_relation(
            data, a, b, metapath.name)
        if edge_type not in data.edge_types:
            raise DataError(f"meta-path {metapath.name!r}: edge type {edge_type} is not in the graph")
        edge_index = data[edge_type].edge_index.cpu().numpy()
        if edge_type[0] != a:  # following the relation backwards
            edge_index = edge_index[::-1]
        shape = (data[a].num_nodes, data[b].num_nodes)
        matrix = sp.csr_matrix((np.ones(edge_index.shape[1]), (edge_index[0], edge_index[1])), shape=shape)
        matrix.data[:] = 1.0  # incidence is binary: duplicate edges do not multiply path counts
        matrices.append(matrix)
    return matrices


def _find_relation(data: HeteroData, a: str, b: str, name: str) -> EdgeType:
    relations = relation_types(data)
    forward = [edge_type for edge_type in relations if edge_type[0] == a and edge_type[2] == b]
    if len(forward) == 1:
        return forward[0]
    if not forward:
        backward = [edge_type for edge_type in relations if edge_type[0] == b and edge_type[2] == a]
        if len(backward) == 1:
            return backward[0]
        if not backward:
            raise DataError(f"meta-path {name!r} does not chain: no relation between {a!r} and {b!r} "
                            f"(edge types: {data.edge_types})")
        forward = backward
    raise DataError(f"meta-path {name!r}: several relations between {a!r} and {b!r} ({forward}); give "
                    f"MetaPath.relations")


def relation_types(data: HeteroData) -> list[EdgeType]:
    """The edge types of ``data`` that are relations: they have an ``edge_index`` and are not stored meta-path
    graphs (whose relation names are those of ``data.metapath_specs``)."""
    metapaths = {spec.name for spec in (getattr(data, "metapath_specs", None) or ())}
    return [edge_type for edge_type in data.edge_types
            if edge_type[1] not in metapaths and "edge_index" in data[edge_type]]
