"""Contrastive losses as ``nn.Module`` s (one concept per file), each tested against a naive reference.

- :class:`InfoNCE` — GRACE's inter- + intra-view InfoNCE, chunked (``O(chunk · N)`` memory).
"""
from graphcl.losses.infonce import InfoNCE, grace_info_nce

__all__ = ["InfoNCE", "grace_info_nce"]
