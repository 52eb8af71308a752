"""Sequence data: readers, the ``.inter`` writer, leave-one-out split, batches, the generated dataset.

Typical use::

    from recsys.data import load_sequences, leave_one_out, batch_loader
    dataset = load_sequences("../shared/data/seqrec/Beauty.txt")     # or a .inter file, or "generated"
    split = leave_one_out(dataset, max_len=50, padding="right")      # 131,413 train samples on Beauty
    for batch in batch_loader(split.train, 256):                     # SequenceBatch(item_seq [B, L], ...)
        ...

A :class:`SequenceBatch` is what every model's ``calculate_loss`` / ``predict`` / ``full_sort_predict``
receives: ``item_seq [B, L]`` (0 = padding), ``item_seq_len [B]``, ``target [B]``, ``user [B]``.
"""
from recsys.data.generated import make_sequence_dataset
from recsys.data.loader import batch_loader
from recsys.data.loading import DATASET_FILES, canonical_name, load_sequences
from recsys.data.readers import read_inter, read_txt, write_inter, write_txt
from recsys.data.sequences import SequenceDataset
from recsys.data.split import (
    SequenceBatch,
    SequenceSamples,
    SequenceSplit,
    leave_one_out,
    window_samples,
)

__all__ = [
    "DATASET_FILES",
    "SequenceBatch",
    "SequenceDataset",
    "SequenceSamples",
    "SequenceSplit",
    "batch_loader",
    "canonical_name",
    "leave_one_out",
    "load_sequences",
    "make_sequence_dataset",
    "read_inter",
    "read_txt",
    "window_samples",
    "write_inter",
    "write_txt",
]
