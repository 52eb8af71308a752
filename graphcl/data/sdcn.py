"""Deep-graph-clustering benchmarks in the SDCN format — `"Structural Deep Clustering Network"
<https://arxiv.org/abs/2002.01633>`_ (Bo et al., WWW 2020), the suite SCGC and PamC evaluate on.

Two sources:

* **SDCN text files** (``bdy9527/SDCN``: ACM, DBLP, Citeseer, USPS, HHAR, Reuters) under a local root:
  ``<name>.txt`` (one node per line, whitespace-separated feature values), ``<name>_label.txt`` (one integer
  class per line) and the graph ``<name>_graph.txt`` (given graphs) or ``<name><k>_graph.txt`` (the kNN graphs
  SDCN built for USPS k=3, HHAR k=5, Reuters k=3), one ``src dst`` pair per line. Files are looked up in
  ``root``, ``root/data`` and ``root/graph`` (SDCN's own layout). Edges are symmetrised with
  ``max(A, Aᵀ)`` (as SDCN's ``load_graph``) and self-loops dropped. A missing kNN graph file can be rebuilt
  from the features with :func:`graphcl.functional.knn_graph` (SDCN's ``calcu_graph.py`` recipe).
* **dblp-sdcn**, derived from the staged HeCo DBLP folder (``heco/dblp``): the 4,057 authors, their 334 binary
  ``a_feat`` features, the co-authorship (APA meta-path) graph without self-loops — 3,528 undirected edges —
  and the 4 research-area labels. Only ``a_feat.npz``, ``pa.txt`` and ``labels.npy`` are read (with the readers
  of :mod:`graphcl.data.heco`, without its L1 normalisation).

Features are kept raw (binary / real values, not row-normalised): the SDCN autoencoder recipe is tuned for
them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import Data
from torch_geometric.utils import remove_self_loops, to_undirected

from graphcl.data.heco import (
    _read_edge_list,
    _read_features,
    data_line_number,
)
from graphcl.errors import DataError
from graphcl.safe_load import load_numpy

#: SDCN's kNN-graph settings for the feature-only datasets: (k, metric of calcu_graph.py).
SDCN_KNN = {"usps": (3, "heat"), "hhar": (5, "heat"), "reut": (3, "ncos")}


def _find(root: Path, file: str) -> Path | None:
    for folder in (root, root / "data", root / "graph"):
        if (folder / file).is_file():
            return folder / file
    return None


def _read_table(path: Path, dtype: type, what: str) -> np.ndarray:
    try:
        table = np.loadtxt(path, dtype=dtype, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path}: cannot parse the {what} ({exc})") from exc
    return table


def load_sdcn(
    name: str,
    root: str | Path,
    *,
    k: int | None = None,
    build_missing_graph: bool = False,
) -> Data:
    """Read an SDCN-format dataset (``<name>.txt``, ``<name>_label.txt``, ``<name>[k]_graph.txt``).

    Args:
        name: File stem, e.g. ``"acm"``, ``"usps"``, ``"reut"``.
        root: Folder holding the files (or SDCN's ``data/`` and ``graph/`` sub-folders).
        k: The kNN size in the graph file name (``usps3_graph.txt``); ``None`` reads ``<name>_graph.txt``.
        build_missing_graph: When the graph file is missing and ``k`` is given, build the kNN graph from the
            features (SDCN's metric for the dataset, :data:`SDCN_KNN`, else the heat kernel).

    Returns:
        ``Data(x [N, F] float, edge_index [2, E] undirected, y [N], num_nodes)``.

    Raises:
        DataError: Missing files (listing the paths looked at), unparsable lines, inconsistent sizes, node ids
            out of range.
    """
    root = Path(root)
    feature_file, label_file = f"{name}.txt", f"{name}_label.txt"
    graph_file = f"{name}_graph.txt" if k is None else f"{name}{k}_graph.txt"
    paths = {file: _find(root, file) for file in (feature_file, label_file, graph_file)}
    required = [feature_file, label_file] + ([] if (build_missing_graph and k is not None) else [graph_file])
    missing = [file for file in required if paths[file] is None]
    if missing:
        raise DataError(
            f"SDCN dataset {name!r}: missing {', '.join(missing)} under {root} (looked in {root}, {root / 'data'}, "
            f"{root / 'graph'}). Get the files from https://github.com/bdy9527/SDCN (data/ and graph/)."
        )
    x = _read_table(paths[feature_file], np.float32, "features")
    y = _read_table(paths[label_file], np.int64, "labels").reshape(-1)
    n = x.shape[0]
    if n == 0:
        raise DataError(f"{paths[feature_file]}: no feature rows (one node per line expected)")
    if y.shape[0] != n:
        raise DataError(f"{paths[label_file]}: {y.shape[0]} labels for {n} feature rows in {paths[feature_file]}")
    if not np.isfinite(x).all():
        raise DataError(f"{paths[feature_file]}: features contain NaN or inf")
    features = torch.from_numpy(x)
    if paths[graph_file] is not None:
        edges = _read_table(paths[graph_file], np.int64, "edge list")
        if edges.size and edges.shape[1] != 2:
            raise DataError(f"{paths[graph_file]}: expected two node ids per line, got {edges.shape[1]} columns")
        bad = np.flatnonzero(((edges < 0) | (edges >= n)).any(axis=1)) if edges.size else edges[:0, 0]
        if bad.size:
            src, dst = (int(v) for v in edges[bad[0]])
            raise DataError(
                f"{paths[graph_file]}, line {data_line_number(paths[graph_file], int(bad[0]))}: edge ({src}, {dst}) has a node id outside [0, {n}) "
                f"(N = rows of {feature_file}; {bad.size} such line(s))"
            )
        edge_index = torch.from_numpy(edges.reshape(-1, 2).T.copy())
    else:
        from graphcl.functional.knn import knn_graph

        # Only reached with k given (without k the graph file is required); SDCN_KNN supplies the metric.
        _, metric = SDCN_KNN.get(name, (k, "heat"))
        edge_index, _ = knn_graph(features, int(k), metric=metric)
    edge_index, _ = remove_self_loops(edge_index)
    edge_index = to_undirected(edge_index, num_nodes=n)
    _, codes = np.unique(y, return_inverse=True)
    return Data(x=features, edge_index=edge_index, y=torch.from_numpy(codes.astype(np.int64)), num_nodes=n)


def load_dblp_sdcn(root: str | Path) -> Data:
    """The SDCN-style DBLP author graph from a HeCo DBLP folder (``root`` holds ``dblp/`` or is it).

    Authors ``i ≠ j`` are linked when they share a paper (APA meta-path, ``PAᵀ·PA > 0`` without the diagonal).

    Returns:
        ``Data(x [4057, 334] binary float, edge_index [2, 7056], y [4057], num_nodes)`` for the staged files.

    Raises:
        DataError: Missing files; unreadable ``a_feat.npz`` / ``labels.npy``; a ``pa.txt`` line that is not two
            integers or whose ids are out of range (file and line named); labels that do not match the authors.
    """
    root = Path(root)
    folder = root / "dblp" if (root / "dblp" / "a_feat.npz").is_file() else root
    files = {f: folder / f for f in ("a_feat.npz", "pa.txt", "labels.npy")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataError(
            f"dblp-sdcn: missing {', '.join(missing)}. Point root at the HeCo data folder holding dblp/ "
            f"(https://github.com/liun-online/HeCo/tree/main/data)."
        )
    # The HeCo readers name the file (and line) of any malformed input; the features stay raw here.
    feat = _read_features(files["a_feat.npz"], normalize=False)
    feat = (feat if isinstance(feat, np.ndarray) else feat.toarray()).astype(np.float32)
    pa = _read_edge_list(files["pa.txt"])
    labels = load_numpy(files["labels.npy"], what="labels")
    n = feat.shape[0]
    integral = labels.dtype.kind in "iu" or (labels.dtype.kind == "f" and bool(np.all(labels == np.round(labels))))
    if labels.size != n or not integral:
        raise DataError(f"{files['labels.npy']}: expected {n} integer labels (one per row of a_feat.npz), got "
                        f"shape {labels.shape}, dtype {labels.dtype}")
    labels = labels.astype(np.int64).reshape(-1)
    if pa.shape[0] == 0:
        raise DataError(f"{files['pa.txt']}: no paper-author links")
    bad = np.flatnonzero((pa < 0).any(axis=1) | (pa[:, 1] >= n))
    if bad.size:
        raise DataError(
            f"{files['pa.txt']}, line {data_line_number(files['pa.txt'], int(bad[0]))}: paper {int(pa[bad[0], 0])}, author {int(pa[bad[0], 1])} "
            f"is out of range (ids >= 0, authors < {n} = rows of a_feat.npz; {bad.size} such line(s))"
        )
    num_papers = int(pa[:, 0].max()) + 1
    incidence = sp.csr_matrix((np.ones(len(pa), dtype=np.float32), (pa[:, 0], pa[:, 1])), shape=(num_papers, n))
    coauthor = (incidence.T @ incidence).tocoo()
    keep = coauthor.row != coauthor.col
    edge_index = torch.from_numpy(np.stack([coauthor.row[keep], coauthor.col[keep]]).astype(np.int64))
    edge_index = to_undirected(edge_index, num_nodes=n)
    return Data(x=torch.from_numpy(feat), edge_index=edge_index, y=torch.from_numpy(labels), num_nodes=n)
