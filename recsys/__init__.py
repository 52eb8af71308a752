"""Sequential recommendation with contrastive learning, built on the shared core of :mod:`graphcl`.

Layout (one concept per module):

* :mod:`recsys.data` — readers for one-line-per-user ``.txt`` and RecBole atomic ``.inter`` files, the
  ``.inter`` writer, leave-one-out split with prefix expansion, padded ``[B, L]`` batches, and the generated
  sequence dataset (the embedded default).
* :mod:`recsys.eval` — full-ranking HR@K / NDCG@K / MRR@K under an explicit :class:`~recsys.eval.RankingProtocol`.
* :mod:`recsys.nn` — the SASRec encoder (layer-for-layer RecBole-compatible; ``load_recbole_sasrec``), the
  GRU4Rec encoder (:mod:`recsys.nn.gru4rec`, an SRA-CL backbone) and MCLRec's learnable augmenters.
* :mod:`recsys.augment` — batched crop / mask / reorder / substitute / insert on ``[B, L]`` tensors.
* :mod:`recsys.losses` — NT-Xent and MCLRec's contrastive regulariser.
* :mod:`recsys.semantic` — SRA-CL's semantic sources (text, attributes, precomputed files, LLM summaries),
  neighbour retrieval and the semantic index.
* :mod:`recsys.models` — SASRec, CL4SRec, MCLRec, SRA-CL with RecBole's method names.
* :mod:`recsys.config` — defaults < YAML < ``key=value`` run configuration.
* :mod:`recsys.train` — the training / evaluation entry point every model reuses (``graphcl.train.fit``).
* :mod:`recsys.cli` — ``recsys train | eval | config | datasets``.

Submodules are imported lazily so that ``import recsys`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["augment", "cli", "config", "data", "eval", "losses", "models", "nn", "semantic", "train"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"recsys.{name}")
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")
