"""t-SNE picture of node embeddings coloured by class (van der Maaten & Hinton, JMLR 2008), as in the figures of
HeCo / MEOW; needs the ``plot`` extra (matplotlib)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from graphcl.utils import require

__all__ = ["plot_tsne"]


def plot_tsne(
    z: Tensor,
    y: Tensor,
    path: str | Path,
    *,
    indices: Tensor | None = None,
    title: str | None = None,
    seed: int = 0,
    perplexity: float = 30.0,
) -> dict[str, float]:
    """Embeds ``z`` (or its rows ``indices``) in 2-D with scikit-learn's ``TSNE`` and saves a scatter plot as PNG.

    Args:
        z: ``[N, d]`` embeddings.
        y: ``[N]`` class ids (colours).
        path: Output ``.png`` file (parent folders are created).
        indices: Rows to plot (e.g. the test nodes); all by default.
        title: Plot title.
        seed: t-SNE random state.
        perplexity: t-SNE perplexity (clipped below the number of points).

    Returns:
        ``{"silhouette": ...}``: the silhouette score of the classes in the embedding space (cosine), a number to
        go with the picture.
    """
    require("matplotlib", "plot", "t-SNE plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score

    x = z.detach().cpu().double().numpy()
    labels = y.detach().cpu().numpy()
    if indices is not None:
        rows = indices.detach().cpu().numpy()
        x, labels = x[rows], labels[rows]
    points = TSNE(2, perplexity=min(perplexity, max(1.0, (len(x) - 1) / 3)), random_state=seed,
                  init="pca").fit_transform(x)
    silhouette = float(silhouette_score(x, labels, metric="cosine")) if len(np.unique(labels)) > 1 else 0.0
    figure, axis = plt.subplots(figsize=(5, 5))
    for c in np.unique(labels):
        chosen = labels == c
        axis.scatter(points[chosen, 0], points[chosen, 1], s=4, label=str(c))
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(markerscale=3, fontsize=8, title="class")
    axis.set_title(title or f"t-SNE (silhouette {silhouette:.3f})")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return {"silhouette": silhouette}
