"""Neural-network building blocks: graph encoders and projection heads."""
from graphcl.nn.encoders import RRELU_EVAL_SLOPE, GCNEncoder, make_activation
from graphcl.nn.heads import ProjectionHead

__all__ = ["RRELU_EVAL_SLOPE", "GCNEncoder", "ProjectionHead", "make_activation"]
