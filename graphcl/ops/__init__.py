"""Pure-torch kernels shared by ``graphcl`` and ``recsys`` (the same code on CPU and GPU).

- :mod:`graphcl.ops.similarity`: chunked similarity with a fused, streaming log-sum-exp (InfoNCE without an
  ``N x N`` matrix), top-k retrieval.
- :mod:`graphcl.ops.segment`: segment / cluster sums and means.
- :mod:`graphcl.ops.edge`: chunked edge-wise dot products (positive terms over a graph's edges).
- :mod:`graphcl.ops.cluster`: seeded k-means / spherical k-means.
"""
from graphcl.ops.cluster import KMeansResult, kmeans
from graphcl.ops.edge import DEFAULT_EDGE_CHUNK_SIZE, edge_dot
from graphcl.ops.segment import (
    one_hot_assignment,
    segment_count,
    segment_mean,
    segment_sum,
)
from graphcl.ops.similarity import (
    DEFAULT_CHUNK_SIZE,
    auto_chunk_size,
    chunked_logsumexp,
    cosine_similarity_matrix,
    topk_rows,
    topk_similarity,
    weighted_logsumexp,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE", "DEFAULT_EDGE_CHUNK_SIZE", "KMeansResult", "auto_chunk_size", "chunked_logsumexp",
    "cosine_similarity_matrix", "edge_dot", "kmeans", "one_hot_assignment", "segment_count", "segment_mean",
    "segment_sum", "topk_rows", "topk_similarity", "weighted_logsumexp",
]
