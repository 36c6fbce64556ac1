"""The monthly invoicing orchestration and its starters."""
from .monthly import bp as monthly_bp
from .starters import bp as starters_bp

__all__ = ["monthly_bp", "starters_bp"]
