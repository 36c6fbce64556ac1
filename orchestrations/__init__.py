"""The monthly invoicing orchestration and its starters."""
from .month_to_date import bp as month_to_date_bp
from .monthly import bp as monthly_bp
from .starters import bp as starters_bp

__all__ = ["month_to_date_bp", "monthly_bp", "starters_bp"]
