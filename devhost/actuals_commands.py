"""`chargeback actuals import FILE --month YYYY-MM` and `actuals show YYYY-MM`."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from chargeback.actuals.mapping import read_month_actuals_parts
from chargeback.actuals.model import InvalidExport, MonthActuals
from chargeback.months import parse_month
from chargeback.wiring import services
from devhost.commands import use_storage
from devhost.output import print_json, progress, shows_progress, table


def actuals(args) -> int:
    return {"import": _import, "show": _show}[args.action](args)


class _Counting:
    """A binary file that reports the bytes read (the progress of a gigabyte export)."""

    def __init__(self, raw: IO[bytes], advance: Callable[..., None]):
        self.raw, self.advance = raw, advance

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.advance(len(data))
        return data


def _opened(paths: list[Path], advance: Callable[..., None]) -> Iterator[tuple[str, IO[bytes]]]:
    """Each file in turn, open only while it is read (an export may come in hundreds of parts)."""
    for path in paths:
        with path.open("rb") as raw:
            yield str(path), _Counting(raw, advance)


def _import(args) -> int:
    if not args.month:
        print("chargeback actuals import: give the month the export is of: --month YYYY-MM", file=sys.stderr)
        return 2
    month = parse_month(args.month)
    paths = [Path(args.file_or_month), *(Path(p) for p in args.more_files)]
    use_storage()
    s = services()
    config = s.config.current()
    if config is None:
        print("chargeback actuals import: no config imported yet: chargeback config import FILE", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in paths)
    with progress(f"reading {len(paths)} file(s)", size, shows_progress(args.json)) as advance:
        try:
            result = read_month_actuals_parts(_opened(paths, advance), month, config)
        except InvalidExport as exc:
            print(f"chargeback actuals import: refused, the stored actuals of {month} are unchanged:\n  {exc}",
                  file=sys.stderr)
            return 2
    s.actuals.save(result)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"imported {result.export_format} export {result.source} for {month}: {result.rows_read:,} rows read, "
          f"{result.rows_kept:,} of the configured resources")
    print(f"  actual cost {result.total_cost} {result.currency}: mapped {result.mapped_cost}, "
          f"unmapped {result.unmapped_cost} ({len(result.unmapped)} meters; see chargeback actuals show {month})")
    return 0


def _show(args) -> int:
    month = parse_month(args.file_or_month)
    use_storage()
    stored = services().actuals.get(month)
    if stored is None:
        print(f"no actuals imported for {month}: chargeback actuals import FILE --month {month}", file=sys.stderr)
        return 1
    if args.json:
        print_json(stored.to_dict())
        return 0
    _print(stored)
    return 0


def _print(a: MonthActuals) -> None:
    when = a.imported_at.isoformat(timespec="seconds") if a.imported_at else "?"
    print(f"Actuals for {a.month}: {a.export_format} export {a.source}, imported {when}")
    print(f"  total {a.total_cost} {a.currency} ({a.rows_kept:,} of {a.rows_read:,} rows were of the configured "
          "resources)")
    print()
    if a.mapped:
        print(table(["deployment", "meter / pool", "cost", "billed quantity", "unit", "rows", "Cost Management meters"],
                    [[m.pool or m.deployment, "pool" if m.pool else m.meter, m.cost, m.quantity, m.unit, m.rows,
                      "; ".join(m.meter_names)] for m in a.mapped], right={2, 3, 5}))
    else:
        print("  no row mapped to a deployment meter or pool (actuals.meters)")
    print()
    if a.unmapped:
        print(f"Unmapped ({a.unmapped_cost} {a.currency}, charged to unallocated; map them in actuals.meters):")
        print(table(["Cost Management meter", "cost", "billed quantity", "unit", "rows"],
                    [[u.meter_name, u.cost, u.quantity, u.unit, u.rows] for u in a.unmapped], right={1, 2, 4}))
    else:
        print("Every row mapped (nothing unallocated).")


def add_actuals_commands(sub, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `actuals import|show` (devhost/cli.py calls this with its ``_command``)."""
    act = command(sub, "actuals", actuals, "import a month's Cost Management export (FOCUS, or EA/MCA cost details) "
                                          "mapped to meters; show what it mapped to and what it did not")
    act.add_argument("action", choices=["import", "show"], help="import an export, or show a month's actuals")
    act.add_argument("file_or_month", metavar="FILE|YYYY-MM",
                     help="import: the export CSV (or .csv.gz); show: the month")
    act.add_argument("more_files", nargs="*", metavar="FILE", help="import: further parts of the same export")
    act.add_argument("--month", help="import: the month the export is of, YYYY-MM (every row must be of it)")
