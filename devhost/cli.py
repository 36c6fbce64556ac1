"""`chargeback`: the local face of the product (see README and DESIGN.md for the command table)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chargeback.errors import ChargebackError
from devhost import commands
from devhost.config_commands import config
from devhost.demo import demo
from devhost.invoice_commands import invoices, run_month, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chargeback", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(handler=handler)
        return p

    run = command("demo", demo, "the main job end to end on generated data (what `make run` runs)", json_flag=False)
    run.add_argument("--month", required=True, help="YYYY-MM")
    run.add_argument("--events", type=int, default=20_000)
    run.add_argument("--departments", type=int, default=6)
    run.add_argument("--seed", type=int, default=7)
    run.add_argument("--out", type=Path, default=Path("out"))

    stack = command("stack", commands.stack, "manage the local Azurite (data under .chargeback/)")
    stack.add_argument("action", choices=["up", "down", "status"])

    cfg = command("config", config, "import (validated whole), show, list versions; fingerprint a seed-format key")
    cfg.add_argument("action", choices=["import", "show", "versions", "fingerprint"])
    cfg.add_argument("file_or_key", nargs="?", metavar="FILE|KEY",
                     help="import: the YAML file; fingerprint: the key, or '-' to read it from standard input")

    gen = command("generate", commands.generate, "write a realistic month of usage events (JSON lines)")
    gen.add_argument("--month", required=True, help="YYYY-MM")
    gen.add_argument("--departments", type=int, default=4)
    gen.add_argument("--events", type=int, default=10_000)
    gen.add_argument("--format", choices=["v1", "v2"], default="v2")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--bad-events", type=int, default=None, help="invalid events to mix in (default ~0.2%%)")
    gen.add_argument("-o", "--output", type=Path, required=True, help="events file to write")
    gen.add_argument("--config-out", type=Path, help="also write a config YAML claiming the subscriptions")

    ing = command("ingest", commands.ingest, "feed events through the real Event Hub trigger")
    ing.add_argument("file", type=Path)
    ing.add_argument("--batch", type=int, default=500, help="events per trigger invocation (default 500)")

    usage = command("usage", commands.usage, "a month's stored usage by subscription and deployment")
    usage.add_argument("month", help="YYYY-MM")

    dead = command("deadletters", commands.deadletters, "list or replay events set aside as invalid")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("ids", nargs="*", help="replay only these dead-letter ids (default: all)")
    dead.add_argument("--show-body", action="store_true", help="print each body (keys are fingerprinted)")

    run_m = command("run-month", run_month, "run the monthly invoicing orchestration through the local host")
    run_m.add_argument("month", help="YYYY-MM")
    run_m.add_argument("--timeout", type=float, default=900, help="seconds to wait for the run (default 900)")

    inv = command("invoices", invoices, "what was invoiced for a month; fetch one department's workbook")
    inv.add_argument("action", choices=["list", "get"])
    inv.add_argument("month", help="YYYY-MM")
    inv.add_argument("department", nargs="?")
    inv.add_argument("-o", "--output", type=Path, help="where to write the workbook (get)")

    srv = command("serve", serve, "serve the HTTP functions locally (rerun, invoices, portal)", json_flag=False)
    srv.add_argument("--port", type=int, default=7071)
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--dev-auth", action=argparse.BooleanOptionalAction, default=True,
                     help="trust X-MS-CLIENT-PRINCIPAL as local development mode (loopback only; default on)")
    srv.add_argument("--as", dest="signed_in_as", metavar="EMAIL",
                     help="development mode: every request arrives signed in as EMAIL (so a browser can open the portal)")
    srv.add_argument("--admin", action="store_true", help="with --as: sign in with the Chargeback.Admin role")

    bench = command("bench", commands.bench, "benchmarks, as ratios against baselines measured in the same run")
    bench.add_argument("--events", type=int, default=20_000, help="events per measured path")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.getLogger().addFilter(lambda r: "Auth level is not applied" not in r.getMessage())
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except ChargebackError as exc:
        print(f"chargeback {args.command}: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"chargeback {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
