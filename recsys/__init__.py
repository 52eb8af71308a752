"""Sequential recommendation with contrastive learning, built on the shared core of :mod:`graphcl`.

Layout (one concept per module):

* :mod:`recsys.data` — readers for one-line-per-user ``.txt`` and RecBole atomic ``.inter`` files, the
  ``.inter`` writer, leave-one-out split with prefix expansion, padded ``[B, L]`` batches, and the generated
  sequence dataset (the embedded default).
* :mod:`recsys.eval` — full-ranking HR@K / NDCG@K / MRR@K under an explicit :class:`~recsys.eval.RankingProtocol`.
* :mod:`recsys.nn` — the SASRec encoder (layer-for-layer RecBole-compatible; ``load_recbole_sasrec``) and
  MCLRec's learnable augmenters.
* :mod:`recsys.augment` — batched crop / mask / reorder / substitute / insert on ``[B, L]`` tensors.
* :mod:`recsys.models` — SASRec, CL4SRec, MCLRec with RecBole's method names.
* :mod:`recsys.train` — the training / evaluation entry point every model reuses (``graphcl.train.fit``).
* :mod:`recsys.cli` — ``recsys train | eval``.

Submodules are imported lazily so that ``import recsys`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["augment", "cli", "data", "eval", "losses", "models", "nn", "train"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"recsys.{name}")
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")
