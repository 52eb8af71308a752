"""Item attribute bags → TF-IDF vectors, the metadata source of SRA-CL when no item text exists (spec §3.11).

The S3-Rec ``<Name>_item2attributes.json`` files map item ids to anonymous brand/category attribute ids. Each
item becomes a TF-IDF-weighted bag of attributes (scikit-learn's ``TfidfTransformer``, smooth idf, L2 rows):

.. math::
    v_{i,a} = \\frac{\\mathrm{tf}_{i,a} \\cdot (1 + \\ln \\frac{1 + n}{1 + \\mathrm{df}_a})}{\\lVert\\cdot\\rVert_2}.

With more attributes than ``max_dim`` the vectors are reduced by truncated SVD (latent semantic analysis,
seeded) and re-normalised, so that window vectors stay small. Deviation from the paper: no natural-language
semantics, and items that share exactly the same attribute bag are exact ties (retrieval breaks them towards
the smaller item id).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphcl.errors import DataError
from recsys.data.attributes import read_item_attributes
from recsys.semantic.base import SemanticSource

__all__ = ["AttributeSource", "read_item_attributes"]


class AttributeSource(SemanticSource):
    """TF-IDF item vectors from attribute bags.

    Args:
        item_attributes: ``{item id: [attribute, ...]}`` or a path to an ``item2attributes.json`` file.
        max_dim: Reduce to this many dimensions by truncated SVD when there are more attributes (``None``: never).
        user_vectors: ``"mean"`` only (window vectors are recency-weighted means of item vectors).
        recency_decay: ``γ`` of the recency-weighted mean.
        seed: SVD seed.
    """

    name = "attributes"

    def __init__(
        self,
        item_attributes: Mapping[int, Sequence[Any]] | str | os.PathLike,
        *,
        max_dim: int | None = 256,
        user_vectors: str = "mean",
        recency_decay: float = 0.9,
        seed: int = 0,
    ) -> None:
        super().__init__(user_vectors=user_vectors, recency_decay=recency_decay)
        self.path = None
        if isinstance(item_attributes, (str, os.PathLike)):
            self.path = Path(item_attributes)
            item_attributes = read_item_attributes(self.path)
        self.item_attributes = {int(k): list(v) for k, v in item_attributes.items()}
        self.max_dim = max_dim
        self.seed = seed
        self.num_attributes = 0

    def _item_matrix(self, num_items: int) -> Tensor:
        from sklearn.feature_extraction.text import TfidfTransformer

        outside = [i for i in self.item_attributes if not 1 <= i <= num_items]
        if outside:
            raise DataError(
                f"{self.describe_source()}: attributes given for item ids outside 1..{num_items} "
                f"(e.g. {sorted(outside)[:5]}): the file does not belong to this dataset"
            )
        vocab: dict[Any, int] = {}
        rows, cols = [], []
        for item, attrs in self.item_attributes.items():
            for attr in attrs:
                rows.append(item)
                cols.append(vocab.setdefault(attr, len(vocab)))
        if not vocab:
            raise DataError(f"{self.describe_source()}: no item has any attribute")
        self.num_attributes = len(vocab)
        counts = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(num_items + 1, len(vocab))
        )
        tfidf = TfidfTransformer(norm="l2", smooth_idf=True).fit_transform(counts)
        if self.max_dim is not None and len(vocab) > self.max_dim:
            from sklearn.decomposition import TruncatedSVD

            dense = TruncatedSVD(n_components=self.max_dim, random_state=self.seed).fit_transform(tfidf)
            norms = np.linalg.norm(dense, axis=1, keepdims=True)
            dense = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)
        else:
            dense = tfidf.toarray()
        return torch.from_numpy(dense.astype(np.float32))

    def describe_source(self) -> str:
        return f"attribute source ({self.path})" if self.path else "attribute source"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "num_attributes": self.num_attributes, "max_dim": self.max_dim}
