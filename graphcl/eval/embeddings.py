"""Embeddings read from a file, to evaluate any encoder's output under this library's protocols.

``graphcl eval --embeddings FILE`` scores embeddings computed elsewhere (another library, the authors' code of a
method, an earlier ``graphcl embed``) exactly as ``graphcl train`` scores its own, so that numbers from different
code bases differ only in the encoder. Files are read without running code from them (:mod:`graphcl.safe_load`):

- ``.npy``: one numeric array (no pickled objects);
- ``.pt`` / ``.pth``: a tensor, or a dict holding one under ``"embeddings"`` (what ``graphcl embed`` writes);
- ``.pkl`` / ``.pickle``: a pickled NumPy array (e.g. the ``embeds/*.pkl`` files of HeCo-style code); any other
  pickled object is refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from graphcl.errors import DataError
from graphcl.safe_load import PathLike, load_numpy, load_torch, unpickle_arrays

__all__ = ["EMBEDDING_SUFFIXES", "read_embeddings"]

#: File suffixes :func:`read_embeddings` reads.
EMBEDDING_SUFFIXES = (".npy", ".pt", ".pth", ".pkl", ".pickle")


def read_embeddings(path: PathLike, num_nodes: int | None = None) -> Tensor:
    """The ``[N, d]`` float32 embedding matrix stored in ``path`` (format by suffix, see the module docstring).

    Args:
        path: The file.
        num_nodes: The number of rows the evaluated graph needs (its target nodes); ``None`` skips the check.

    Raises:
        UnsafeFileError: The file would need code to be read (a pickle of anything but arrays).
        DataError: Missing, another format, not a 2-D numeric matrix, non-finite values, or the wrong number
            of rows — one line naming the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        value = load_numpy(path, what="embeddings")
    elif suffix in (".pkl", ".pickle"):
        value = unpickle_arrays(path, what="embeddings")
    elif suffix in (".pt", ".pth"):
        value = load_torch(path, what="embeddings")
        if isinstance(value, dict):
            if "embeddings" not in value:
                raise DataError(f"{path}: a dict without an 'embeddings' entry (keys: {sorted(map(str, value))})")
            value = value["embeddings"]
    else:
        raise DataError(f"{path}: unknown embeddings format {suffix or '(no suffix)'!r}; expected one of "
                        f"{', '.join(EMBEDDING_SUFFIXES)}")
    if isinstance(value, Tensor):
        z = value.detach().cpu()
    elif isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        z = torch.from_numpy(np.ascontiguousarray(value))
    else:
        raise DataError(f"{path}: expected a numeric matrix of embeddings, got {type(value).__name__}"
                        + (f" of dtype {value.dtype}" if isinstance(value, np.ndarray) else ""))
    if z.dim() != 2 or z.size(0) == 0 or z.size(1) == 0:
        raise DataError(f"{path}: expected a [num_nodes, dim] matrix of embeddings, got shape {tuple(z.shape)}")
    if z.is_complex():
        raise DataError(f"{path}: complex embeddings are not supported")
    z = z.to(torch.float32)
    if not bool(torch.isfinite(z).all()):
        bad = int((~torch.isfinite(z)).any(1).sum())
        raise DataError(f"{path}: {bad} of {z.size(0)} rows hold NaN or infinite values")
    if num_nodes is not None and z.size(0) != num_nodes:
        raise DataError(f"{path}: {z.size(0)} rows of embeddings, but the graph has {num_nodes} nodes to evaluate")
    return z
