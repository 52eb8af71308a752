"""Models, one class per paper: ``forward(data)`` returns the training loss, ``embed(data)`` the embeddings.

- :class:`GRACE` — Zhu et al., "Deep Graph Contrastive Representation Learning", 2020.
- :class:`CSGCL` — Chen et al., "CSGCL: Community-Strength-Enhanced Graph Contrastive Learning", IJCAI 2023.
- :class:`MEOW` / :class:`AdaMEOW` — Yu et al., "Heterogeneous Graph Contrastive Learning with Meta-path Contexts
  and (Adaptively) Weighted Negative Samples", SDM 2023 / TKDE 2024 (heterogeneous graphs).
"""
from graphcl.models.csgcl import CSGCL
from graphcl.models.grace import GRACE
from graphcl.models.meow import MEOW, AdaMEOW

MODELS = {"grace": GRACE, "csgcl": CSGCL}
MODELS.update({"meow": MEOW, "adameow": AdaMEOW})

__all__ = ["CSGCL", "GRACE", "MODELS"]
__all__ += ["AdaMEOW", "MEOW"]
