"""Neural building blocks: the SASRec encoder (RecBole-compatible), RecBole checkpoint import/export, and
MCLRec's learnable augmenters. The backbone interface is documented in :mod:`recsys.nn.sasrec`."""
from recsys.nn.augmenter import LearnableAugmenter
from recsys.nn.recbole import RecBoleImport, export_recbole_sasrec, load_recbole_sasrec
from recsys.nn.sasrec import MASK_VALUE, SASRecEncoder

__all__ = ["MASK_VALUE", "LearnableAugmenter", "RecBoleImport", "SASRecEncoder", "export_recbole_sasrec",
           "load_recbole_sasrec"]
