"""Sequential recommenders with RecBole's method names (``calculate_loss``, ``predict``, ``full_sort_predict``).

- :class:`SASRec` — Kang & McAuley, ICDM 2018 (CE over all items).
- :class:`CL4SRec` — Xie et al., ICDE 2022 (SASRec + NT-Xent between two augmented views).
- :class:`MCLRec` — Qin et al., SIGIR 2023 (learnable augmenters, meta-optimised θ/φ/θ schedule).
- :class:`SRACL` — Cui et al., NeurIPS 2025 (semantic retrieval augmented CL; ``prepare_data`` builds its index).

``MODELS`` maps config names to classes (the ``model`` key of a config); every class has
``build(num_items, **config)``, whose keyword arguments are the model's config keys.
"""
from recsys.models.base import SequentialRecommender
from recsys.models.cl4srec import CL4SRec
from recsys.models.mclrec import MCLRec
from recsys.models.sasrec import SASRec
from recsys.models.sracl import SRACL

MODELS: dict[str, type[SequentialRecommender]] = {"sasrec": SASRec, "cl4srec": CL4SRec, "mclrec": MCLRec,
                                                  "sracl": SRACL}

__all__ = ["MODELS", "SRACL", "CL4SRec", "MCLRec", "SASRec", "SequentialRecommender"]
