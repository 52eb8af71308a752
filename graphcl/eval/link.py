"""Link prediction on frozen embeddings: a leak-free edge split and AUC / AP of a similarity decoder."""
from __future__ import annotations

import copy
import random
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphcl.errors import DataError
from graphcl.eval._arrays import embeddings_as_numpy, l2_normalize_rows, to_numpy
from graphcl.eval.summary import MetricSummary, summarize

if TYPE_CHECKING:
    from torch_geometric.data import Data

DECODERS = ("cosine", "dot")
_SCORE_CHUNK = 1 << 16  # edges scored per step, bounding the [chunk, D] temporaries


def split_edges(
    data: Data,
    val_ratio: float = 0.05,
    test_ratio: float = 0.1,
    seed: int = 0,
) -> tuple[Data, Data, Data]:
    """Split the edges of an undirected graph into train / validation / test link-prediction sets.

    A seeded wrapper of ``torch_geometric.transforms.RandomLinkSplit(is_undirected=True,
    add_negative_train_samples=False, split_labels=False)``. The split runs under
    ``torch.random.fork_rng`` with the seed set, and Python's ``random`` state (which PyG's negative
    sampler draws from) saved and restored, so it is reproducible and leaves the global RNGs untouched.

    Before splitting, self-loops are dropped (a node is trivially similar to itself, so they would inflate
    the scores, and ``RandomLinkSplit`` would duplicate them) and a directed ``edge_index`` is symmetrised
    with ``ToUndirected(reduce="mean")`` (``RandomLinkSplit`` only draws from the pairs with
    ``src <= dst``, so a one-directional input would silently lose edges). Let :math:`M` be the number of
    remaining undirected edges; validation holds ``int(val_ratio * M)`` of them, test ``int(test_ratio * M)``
    and training the rest. What each returned ``Data`` holds (PyG 2.8 semantics):

    * ``train_data.edge_index``: the training edges only, in both directions. This is the graph the encoder
      is trained on and embeds; no validation or test edge is in it. ``edge_label_index`` /
      ``edge_label`` hold the training edges once (``src < dst``) with label 1 and no negatives.
    * ``val_data.edge_index``: the same training edges (both directions). ``edge_label_index`` holds the
      validation edges once plus as many negative pairs; ``edge_label`` is 1 / 0 (float).
    * ``test_data.edge_index``: training **and validation** edges (both directions; PyG's inference graph).
      ``edge_label_index`` holds the test edges once plus as many negative pairs.

    Negatives are ordered pairs ``(u, v)``, ``u != v``, that are not edges of the full graph, drawn once for
    validation and test together so the two sets share none. Edge attributes (e.g. ``edge_weight``,
    ``edge_attr``) are split along with their edges; node attributes are shared.

    Args:
        data: A homogeneous graph with ``edge_index`` and no ``edge_label`` / ``edge_label_index``.
        val_ratio: Fraction of undirected edges held out for validation, in ``[0, 1)``. (default: ``0.05``)
        test_ratio: Fraction held out for testing, in ``(0, 1)``. (default: ``0.1``)
        seed: Seed of the edge permutation and the negative sampling. (default: ``0``)

    Returns:
        ``(train_data, val_data, test_data)``; the input ``data`` is not modified.
    """
    from torch_geometric.transforms import RandomLinkSplit, ToUndirected
    from torch_geometric.utils import is_undirected

    edge_index = getattr(data, "edge_index", None)
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise DataError("split_edges() needs a graph with an edge_index of shape [2, num_edges]")
    for key in ("edge_label", "edge_label_index"):
        if key in data:
            raise DataError(
                f"data already has '{key}' (is it already a link split?); RandomLinkSplit would treat it "
                "as edge classes. Remove it before calling split_edges()"
            )
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"val_ratio must lie in [0, 1), got {val_ratio!r}")
    if not 0.0 < test_ratio < 1.0:
        raise ValueError(f"test_ratio must lie in (0, 1), got {test_ratio!r}")
    if val_ratio + test_ratio >= 1.0:
        raise ValueError(
            f"val_ratio + test_ratio must be < 1 so that training edges remain, "
            f"got {val_ratio} + {test_ratio}"
        )

    graph = copy.copy(data)
    loops = edge_index[0] == edge_index[1]
    if bool(loops.any()):
        graph = graph.edge_subgraph(~loops)
    if not is_undirected(graph.edge_index, num_nodes=graph.num_nodes):
        graph = ToUndirected(reduce="mean")(graph)
    num_undirected = int((graph.edge_index[0] < graph.edge_index[1]).sum())
    if int(test_ratio * num_undirected) == 0:
        raise DataError(
            f"test_ratio={test_ratio} of {num_undirected} undirected edges leaves no test edge; "
            "the graph is too small for this split"
        )

    transform = RandomLinkSplit(
        num_val=float(val_ratio),
        num_test=float(test_ratio),
        is_undirected=True,
        add_negative_train_samples=False,
        split_labels=False,
    )
    device = graph.edge_index.device
    python_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[device.index] if device.type == "cuda" else []):
            # Seed only the generators the split draws from (not torch.manual_seed, which would also
            # queue a seed for every CUDA device outside the fork).
            torch.default_generator.manual_seed(seed)
            if device.type == "cuda":
                with torch.cuda.device(device):
                    torch.cuda.manual_seed(seed)
            random.seed(seed)  # PyG's negative_sampling draws with random.sample
            train_data, val_data, test_data = transform(graph)
    finally:
        random.setstate(python_state)
    return train_data, val_data, test_data


def link_prediction_scores(
    z: Any,
    edge_label_index: Any,
    edge_label: Any,
    decoder: str = "cosine",
) -> dict[str, MetricSummary]:
    r"""ROC-AUC and average precision of scoring node pairs by the similarity of their embeddings.

    .. math::
        s(u, v) = \frac{\mathbf{z}_u^\top \mathbf{z}_v}{\|\mathbf{z}_u\| \|\mathbf{z}_v\|}
        \quad (\texttt{"cosine"}) \qquad \text{or} \qquad s(u, v) = \mathbf{z}_u^\top \mathbf{z}_v
        \quad (\texttt{"dot"})

    Args:
        z: Node embeddings ``[N, D]`` (tensor on any device, or array).
        edge_label_index: Node pairs ``[2, E]``.
        edge_label: Binary labels ``[E]`` (1 = edge, 0 = non-edge); both classes must occur.
        decoder: ``"cosine"`` or ``"dot"``. (default: ``"cosine"``)

    Returns:
        ``{"auc": summary, "ap": summary}``, each summarising the single value (std 0).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    x = embeddings_as_numpy(z)
    pairs = to_numpy(edge_label_index, "edge_label_index")
    if pairs.ndim != 2 or pairs.shape[0] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise ValueError(
            f"edge_label_index must be an integer [2, E] array, got {pairs.dtype} {tuple(pairs.shape)}"
        )
    labels = to_numpy(edge_label, "edge_label").reshape(-1)
    if labels.shape[0] != pairs.shape[1]:
        raise ValueError(
            f"edge_label has {labels.shape[0]} entries but edge_label_index has {pairs.shape[1]} pairs"
        )
    if pairs.size and (pairs.min() < 0 or pairs.max() >= x.shape[0]):
        raise ValueError(f"edge_label_index refers to nodes outside [0, {x.shape[0]})")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("edge_label must be binary (1 = edge, 0 = non-edge)")
    if np.unique(labels).size < 2:
        raise ValueError("edge_label needs both positive and negative pairs for AUC / AP")

    if decoder == "cosine":
        x = l2_normalize_rows(x)
    src, dst = pairs.astype(np.int64)
    scores = np.concatenate(
        [
            np.einsum("ij,ij->i", x[src[i : i + _SCORE_CHUNK]], x[dst[i : i + _SCORE_CHUNK]])
            for i in range(0, src.size, _SCORE_CHUNK)
        ]
    )
    labels = labels.astype(np.int64)
    return {
        "auc": summarize([roc_auc_score(labels, scores)]),
        "ap": summarize([average_precision_score(labels, scores)]),
    }


def link_prediction(
    z: Any,
    train_data: Data,
    val_data: Data,
    test_data: Data,
    decoder: str = "cosine",
) -> dict[str, MetricSummary]:
    """Test (and validation) AUC / AP of a similarity decoder on the splits of :func:`split_edges`.

    ``z`` should embed ``train_data`` (the graph without held-out edges) with an encoder trained on it;
    the same embeddings score both the validation and the test pairs.

    Args:
        z: Node embeddings ``[N, D]``.
        train_data: Training split (used to check the number of nodes).
        val_data: Validation split with ``edge_label_index`` / ``edge_label``.
        test_data: Test split with ``edge_label_index`` / ``edge_label``.
        decoder: ``"cosine"`` or ``"dot"``. (default: ``"cosine"``)

    Returns:
        ``{"auc", "ap"}`` on the test pairs, plus ``{"val_auc", "val_ap"}`` when the validation split
        holds pairs (it is empty for ``val_ratio=0``).
    """
    x = embeddings_as_numpy(z)  # convert once: z may live on a GPU
    if train_data.num_nodes is not None and x.shape[0] != train_data.num_nodes:
        raise DataError(f"z has {x.shape[0]} rows but train_data has {train_data.num_nodes} nodes")
    for name, split in (("val_data", val_data), ("test_data", test_data)):
        if "edge_label_index" not in split or "edge_label" not in split:
            raise DataError(
                f"{name} has no edge_label_index / edge_label; build the splits with split_edges()"
            )

    out = link_prediction_scores(x, test_data.edge_label_index, test_data.edge_label, decoder)
    if val_data.edge_label_index.size(1) > 0:
        val = link_prediction_scores(x, val_data.edge_label_index, val_data.edge_label, decoder)
        out.update({"val_auc": val["auc"], "val_ap": val["ap"]})
    return out
