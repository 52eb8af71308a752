"""Models, one class per paper: ``forward(data)`` returns the training loss, ``embed(data)`` the embeddings.

- :class:`GRACE` — Zhu et al., "Deep Graph Contrastive Representation Learning", 2020.
- :class:`CSGCL` — Chen et al., "CSGCL: Community-Strength-Enhanced Graph Contrastive Learning", IJCAI 2023.
"""
from graphcl.models.csgcl import CSGCL
from graphcl.models.grace import GRACE

MODELS = {"grace": GRACE, "csgcl": CSGCL}

__all__ = ["CSGCL", "GRACE", "MODELS"]
