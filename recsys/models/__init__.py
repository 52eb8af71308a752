"""Sequential recommenders with RecBole's method names (``calculate_loss``, ``predict``, ``full_sort_predict``).

- :class:`SASRec` — Kang & McAuley, ICDM 2018 (CE over all items).
- :class:`GRU4Rec` — Hidasi et al., ICLR 2016, in RecBole's next-item form (CE over all items).
- :class:`BERT4Rec` — Sun et al., CIKM 2019 (bidirectional Transformer, cloze objective).
- :class:`CL4SRec` — Xie et al., ICDE 2022 (SASRec + NT-Xent between two augmented views).
- :class:`DuoRec` — Qiu et al., WSDM 2022 (SASRec + dropout views and same-target positives; ``prepare``
  indexes the positives).
- :class:`MCLRec` — Qin et al., SIGIR 2023 (learnable augmenters, meta-optimised θ/φ/θ schedule).
- :class:`SRACL` — Cui et al., NeurIPS 2025 (semantic retrieval augmented CL; ``prepare`` builds its index).

``MODELS`` maps config names to classes (the ``model`` key of a config); every class has
``build(num_items, **config)``, whose keyword arguments are the model's config keys.
"""
from recsys.models.base import SequentialRecommender
from recsys.models.bert4rec import BERT4Rec
from recsys.models.cl4srec import CL4SRec
from recsys.models.duorec import DuoRec
from recsys.models.gru4rec import GRU4Rec
from recsys.models.mclrec import MCLRec
from recsys.models.sasrec import SASRec
from recsys.models.sracl import SRACL

MODELS: dict[str, type[SequentialRecommender]] = {"sasrec": SASRec, "cl4srec": CL4SRec, "mclrec": MCLRec,
                                                  "sracl": SRACL, "gru4rec": GRU4Rec, "duorec": DuoRec,
                                                  "bert4rec": BERT4Rec}

__all__ = ["MODELS", "SRACL", "BERT4Rec", "CL4SRec", "DuoRec", "GRU4Rec", "MCLRec", "SASRec",
           "SequentialRecommender"]
