"""Small utilities: seeding, optional-dependency guards."""
from graphcl.utils.imports import require
from graphcl.utils.seed import seed_everything

__all__ = ["require", "seed_everything"]
