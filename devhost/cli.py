"""`chargeback`: the local face of the product (see README and DESIGN.md for the command table).

Storage: with no setting a local Azurite under .chargeback/ is started and kept; CHARGEBACK_STORAGE (a
connection string) uses that account; CHARGEBACK_TABLE_ENDPOINT + CHARGEBACK_BLOB_ENDPOINT use a deployed
account as the signed-in Azure identity. The config file's keys: docs/config.md.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from chargeback.errors import ChargebackError
from devhost import commands, mtd_commands
from devhost.actuals_commands import add_actuals_commands
from devhost.config_commands import config
from devhost.demo import demo
from devhost.gateway_commands import add_gateway_commands
from devhost.invoice_commands import invoices, run_month, serve
from devhost.prices_commands import add_prices_commands


def _version() -> str:
    try:
        return version("aoai-chargeback")
    except PackageNotFoundError:   # run from a checkout that was never installed
        return "unknown (not installed)"


def _command(sub, name: str, handler, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    if json_flag:   # not on serve: a server prints no result
        p.add_argument("--json", action="store_true", help="machine-readable output (snake_case keys), no progress")
    p.set_defaults(handler=handler)
    return p


def _local_commands(sub) -> None:
    run = _command(sub, "demo", demo, "the main job end to end on generated data (what `make run` runs)")
    run.add_argument("--month", required=True, help="the month to generate and invoice, YYYY-MM")
    run.add_argument("--events", type=int, default=20_000, help="usage events to generate (default 20000)")
    run.add_argument("--departments", type=int, default=6, help="departments to generate (default 6)")
    run.add_argument("--seed", type=int, default=7, help="random seed: the same seed, the same month (default 7)")
    run.add_argument("--out", type=Path, default=Path("out"),
                     help="folder for events, config, invoices (default out/)")

    stack = _command(sub, "stack", commands.stack, "manage the local Azurite (data under .chargeback/)")
    stack.add_argument("action", choices=["up", "down", "status"], help="start, stop, or show the local Azurite")

    gen = _command(sub, "generate", commands.generate, "write a realistic month of usage events (JSON lines)")
    gen.add_argument("--month", required=True, help="the month of the events, YYYY-MM")
    gen.add_argument("--departments", type=int, default=4, help="departments calling (default 4)")
    gen.add_argument("--events", type=int, default=10_000, help="events to write (default 10000)")
    gen.add_argument("--format", choices=["v1", "v2"], default="v2",
                     help="v2: this product's policy (default); v1: the seed policy's format")
    gen.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    gen.add_argument("--bad-events", type=int, default=None, help="invalid events to mix in (default ~0.2%%)")
    gen.add_argument("-o", "--output", type=Path, required=True, help="events file to write")
    gen.add_argument("--config-out", type=Path, help="also write a config YAML claiming the subscriptions")

    bench = _command(sub, "bench", commands.bench,
                     "benchmarks, as ratios against baselines measured in the same run")
    bench.add_argument("--events", type=int, default=20_000, help="events per measured path (default 20000)")
    bench.add_argument("--runs", type=int, default=3, help="runs of the scale ratios: min/median/max (default 3)")
    bench.add_argument("--million", action="store_true",
                       help="also ingest and invoice 100k and 1M events for ingest_peak_rss_1m_vs_100k_ratio (slow)")


def _storage_commands(sub) -> None:
    cfg = _command(sub, "config", config,
                   "import (validated whole), show, list versions; fingerprint a seed-format key (docs/config.md)")
    cfg.add_argument("action", choices=["import", "show", "versions", "fingerprint"], help="what to do")
    cfg.add_argument("file_or_key", nargs="?", metavar="FILE|KEY",
                     help="import: the YAML file (docs/config.md); fingerprint: the key, or '-' to read it from "
                          "standard input")

    ing = _command(sub, "ingest", commands.ingest,
                   "feed usage events (JSON lines) through the real Event Hub trigger")
    ing.add_argument("file", type=Path, help="JSON lines: one usage event per line (not CSV, not a workbook)")
    ing.add_argument("--batch", type=int, default=500, help="events per trigger invocation (default 500)")

    usage = _command(sub, "usage", commands.usage, "a month's stored usage by subscription and deployment; "
                                                   "--by: month-to-date cost as of the last `chargeback refresh`")
    usage.add_argument("month", help="YYYY-MM")
    usage.add_argument("--by", choices=["department", "deployment", "meter", "user", "tag"],
                       help="month to date (cost, quantities) by department, deployment or meter; "
                            "user, tag: each department's top end users or tags")
    mtd = _command(sub, "refresh", mtd_commands.refresh,
                   "refresh month to date once through the local host, as the hourly timer does")
    mtd.add_argument("month", nargs="?", help="YYYY-MM (default: this month, UTC)")

    dead = _command(sub, "deadletters", commands.deadletters, "list or replay events set aside as invalid")
    dead.add_argument("action", choices=["list", "replay"], help="list them, or parse them again and store "
                                                                  "those that now parse")
    dead.add_argument("ids", nargs="*", help="only these dead letters: full ids or the 12-character ids "
                                             "`list` prints (default: all)")
    dead.add_argument("--show-body", action="store_true", help="print each body (keys are fingerprinted)")


def _invoice_commands(sub) -> None:
    run_m = _command(sub, "run-month", run_month,
                     "run the monthly invoicing orchestration through the local host")
    run_m.add_argument("month", help="YYYY-MM")
    run_m.add_argument("--timeout", type=float, default=900, help="seconds to wait for the run (default 900)")
    again = run_m.add_mutually_exclusive_group()
    again.add_argument("--restart", action="store_true",
                       help="start the month over, abandoning an unfinished run (one a killed command left)")
    again.add_argument("--follow", action="store_true",
                       help="wait for the month's run that another command is running, and show its result")

    inv = _command(sub, "invoices", invoices, "what was invoiced for a month; fetch one department's workbook")
    inv.add_argument("action", choices=["list", "get"], help="list the month's invoices, or get one workbook")
    inv.add_argument("month", help="YYYY-MM")
    inv.add_argument("department", nargs="?", help="department id, any case (list: only this one; get: required)")
    inv.add_argument("-o", "--output", type=Path,
                     help="get: where to write the workbook (default: its own name, e.g. CB-2026-10-SALES-1.xlsx)")

    srv = _command(sub, "serve", serve, "serve the HTTP functions locally (rerun, invoices, portal)",
                   json_flag=False)
    srv.add_argument("--port", type=int, default=7071, help="port to listen on (default 7071; 0 picks a free one)")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    srv.add_argument("--dev-auth", action=argparse.BooleanOptionalAction, default=True,
                     help="trust X-MS-CLIENT-PRINCIPAL as local development mode (loopback only; default on)")
    srv.add_argument("--as", dest="signed_in_as", metavar="EMAIL",
                     help="development mode: every request arrives signed in as EMAIL (a browser can open the portal)")
    srv.add_argument("--admin", action="store_true", help="with --as: sign in with the Chargeback.Admin role")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chargeback", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _local_commands(sub)
    _storage_commands(sub)
    _invoice_commands(sub)
    add_actuals_commands(sub, _command)
    add_prices_commands(sub, _command)
    add_gateway_commands(sub, _command)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.getLogger().addFilter(lambda r: "Auth level is not applied" not in r.getMessage())
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args) or 0
        sys.stdout.flush()   # inside the try: a reader that went away is a BrokenPipeError handled below
        return code
    except ChargebackError as exc:
        return _fail(args, str(exc), 2)
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        return _fail(args, str(exc), 2)
    except TimeoutError as exc:   # run-month --timeout: the run goes on in storage; the next command resumes it
        return _fail(args, f"gave up waiting: {exc}", 1)
    except KeyboardInterrupt:
        return _fail(args, "interrupted", 130)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly. Point stdout at devnull so the interpreter's final
        # flush does not raise again (the recipe in the Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _fail(args, message: str, code: int) -> int:
    print(f"chargeback {args.command}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
