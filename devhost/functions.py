"""The Function App's registered functions, indexed once (the SDK allows one get_functions call per app)."""
from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

# function_app.py sits at the project root, as the Functions host expects, not inside a package.
ROOT = Path(__file__).resolve().parents[1]


def function_index(app_module: str = "function_app") -> dict:
    """name -> azure.functions Function, as the Functions worker would index them."""
    return _index(app_module)


@cache
def _index(app_module: str) -> dict:
    import importlib
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module(app_module).app
    return {f.get_function_name(): f for f in app.get_functions()}


def user_function(name: str, app_module: str = "function_app"):
    """The callable a trigger of that name runs (decorators applied, exactly as registered)."""
    try:
        return function_index(app_module)[name].get_user_function()
    except KeyError:
        raise LookupError(f"no function named {name!r} in {app_module}") from None
