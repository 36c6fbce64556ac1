"""Printing results: aligned text tables for people, JSON for machines (--json)."""
from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def table(headers: Sequence[str], rows: Sequence[Sequence], right: set[int] | None = None) -> str:
    """Rows under headers, columns padded; integers get thousands separators; ``right`` aligns columns."""
    cells = [[_cell(v) for v in row] for row in rows]
    right = right if right is not None else {i for i, v in enumerate(rows[0]) if _numeric(v)} if rows else set()
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True)))
    lines = [line([str(h) for h in headers]), line(["-" * w for w in widths]), *map(line, cells)]
    return "\n".join(text.rstrip() for text in lines)


def _numeric(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    return "" if value is None else str(value)


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_keys(data):
    """The same data with every dict key in snake_case (``runtimeStatus`` -> ``runtime_status``), for --json."""
    if isinstance(data, dict):
        return {_CAMEL.sub(r"_\1", k).replace(" ", "_").lower() if isinstance(k, str) else k: snake_keys(v)
                for k, v in data.items()}
    if isinstance(data, list):
        return [snake_keys(v) for v in data]
    return data


def say(message: str) -> None:
    """A line for the person at the terminal (which storage, what happens next): stderr, so pipes stay clean."""
    print(message, file=sys.stderr, flush=True)


def shows_progress(json_output: bool) -> bool:
    """Progress only for a person watching: stderr is a terminal and the output is not --json.

    CHARGEBACK_PROGRESS=always|never overrides the terminal check (CI logs, tests)."""
    forced = os.environ.get("CHARGEBACK_PROGRESS", "").lower()
    if json_output or forced == "never":
        return False
    return forced == "always" or sys.stderr.isatty()


@contextmanager
def progress(description: str, total: int | None, enabled: bool) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr (count, rate, ETA); ``advance(n, **fields)`` moves it. Silent if disabled."""
    if not enabled:
        yield lambda *_, **__: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total, rate="")

        def advance(n: int = 0, **fields) -> None:
            bar.update(task, advance=n, **fields)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:,.0f}/s" if speed else "")
        yield advance
