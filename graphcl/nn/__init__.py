"""Neural-network building blocks: graph encoders, projection heads and the sparse GCN products.

The model-specific blocks live in their modules: :mod:`graphcl.nn.metapath` (MEOW's meta-path encoder),
:mod:`graphcl.nn.heco` (HeCo's two view encoders), :mod:`graphcl.nn.dec` (DEC's Student-t clustering head) and
:mod:`graphcl.nn.autoencoder` (the SDCN autoencoder of PamC / SCGC).
"""
from graphcl.nn.encoders import RRELU_EVAL_SLOPE, GCNEncoder, PReLU, make_activation
from graphcl.nn.heads import ProjectionHead
from graphcl.nn.sparse import SparseMatrix, gcn_propagation_matrix

__all__ = [
    "RRELU_EVAL_SLOPE", "GCNEncoder", "PReLU", "ProjectionHead", "SparseMatrix", "gcn_propagation_matrix",
    "make_activation",
]
