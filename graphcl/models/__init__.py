"""Models, one class per paper: ``forward(data)`` returns the training loss, ``embed(data)`` the embeddings.

- :class:`GRACE` — Zhu et al., "Deep Graph Contrastive Representation Learning", 2020.
"""
from graphcl.models.grace import GRACE

MODELS = {"grace": GRACE}

__all__ = ["GRACE", "MODELS"]
