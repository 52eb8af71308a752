"""Models, one class per paper: ``forward(data)`` returns the training loss, ``embed(data)`` the embeddings.

- :class:`GRACE` — Zhu et al., "Deep Graph Contrastive Representation Learning", 2020.
- :class:`CSGCL` — Chen et al., "CSGCL: Community-Strength-Enhanced Graph Contrastive Learning", IJCAI 2023.
- :class:`PamC` — Kulatilleke et al., "Efficient block contrastive learning via parameter-free meta-node
  approximation", 2022; :class:`SCGC` — its exact-loss baseline SCGC* (Kulatilleke et al., 2022).
- Baselines: :class:`GCA` (Zhu et al., WWW 2021), :class:`DGI` (Veličković et al., ICLR 2019), :class:`BGRL`
  (Thakoor et al., ICLR 2022), :class:`MVGRL` (Hassani & Khasahmadi, ICML 2020) and :class:`SupervisedGCN`
  (Kipf & Welling, ICLR 2017), the supervised reference trained on the probe's training split.
- Heterogeneous baselines: :class:`HeCo` (Wang et al., KDD 2021) and :class:`DMGI` (Park et al., AAAI 2020).
- :class:`MEOW` / :class:`AdaMEOW` — Yu et al., "Heterogeneous Graph Contrastive Learning with Meta-path Contexts
  and (Adaptively) Weighted Negative Samples", SDM 2023 / TKDE 2024 (heterogeneous graphs).
"""
from graphcl.models.bgrl import BGRL
from graphcl.models.csgcl import CSGCL
from graphcl.models.dgi import DGI
from graphcl.models.dmgi import DMGI
from graphcl.models.gca import GCA
from graphcl.models.grace import GRACE
from graphcl.models.heco import HeCo
from graphcl.models.meow import MEOW, AdaMEOW
from graphcl.models.mvgrl import MVGRL
from graphcl.models.pamc import SCGC, PamC
from graphcl.models.supervised import SupervisedGCN

MODELS = {"grace": GRACE, "csgcl": CSGCL}
MODELS.update({"pamc": PamC, "scgc": SCGC})
MODELS.update({"meow": MEOW, "adameow": AdaMEOW})
MODELS.update({"heco": HeCo, "dmgi": DMGI})
MODELS.update({"gca": GCA, "dgi": DGI, "bgrl": BGRL, "mvgrl": MVGRL, "supervised": SupervisedGCN})

__all__ = ["CSGCL", "GRACE", "MODELS"]
__all__ += ["SCGC", "PamC"]
__all__ += ["MEOW", "AdaMEOW"]
__all__ += ["BGRL", "DGI", "GCA", "MVGRL", "SupervisedGCN"]
__all__ += ["DMGI", "HeCo"]
