"""Neural-network building blocks: graph encoders, projection heads and the sparse GCN products."""
from graphcl.nn.encoders import RRELU_EVAL_SLOPE, GCNEncoder, PReLU, make_activation
from graphcl.nn.heads import ProjectionHead
from graphcl.nn.sparse import SparseMatrix, gcn_propagation_matrix

__all__ = [
    "RRELU_EVAL_SLOPE", "GCNEncoder", "PReLU", "ProjectionHead", "SparseMatrix", "gcn_propagation_matrix",
    "make_activation",
]
