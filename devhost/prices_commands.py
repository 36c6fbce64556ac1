"""`chargeback prices import FILE... [--region R] [--pick D=OFFER] [--effective-from DAY] [--write FILE]`."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml

from chargeback.config.loading import parse_config
from chargeback.config.model import ChargebackConfig
from chargeback.prices.merge import config_with_proposals
from chargeback.prices.propose import propose_prices
from chargeback.prices.retail import read_pages
from chargeback.prices.review import PriceReview
from chargeback.wiring import services
from devhost.commands import use_storage
from devhost.output import print_json


def prices(args) -> int:
    config = _config(args)
    if config is None:
        print("chargeback prices import: no config imported yet: chargeback config import FILE (or --config FILE)",
              file=sys.stderr)
        return 1
    picks = dict(_pick(p) for p in args.pick or [])
    effective = date.fromisoformat(args.effective_from) if args.effective_from else None
    retail = read_pages([(str(f), Path(f).read_text(encoding="utf-8")) for f in args.files])
    review = propose_prices(config, retail, region=args.region, picks=picks, effective_from=effective)
    if args.write:
        document = config_with_proposals(config, review)
        Path(args.write).write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    if args.json:
        print_json({**review.to_dict(), "written": str(args.write) if args.write else None})
    else:
        _print(review, args.write)
    return 0


def _config(args) -> ChargebackConfig | None:
    if args.config:
        return parse_config(Path(args.config).read_text(encoding="utf-8"))
    use_storage()
    return services().config.current()


def _pick(text: str) -> tuple[str, str]:
    deployment, sep, offer = text.partition("=")
    if not sep or not deployment.strip() or not offer.strip():
        raise SystemExit(f'chargeback prices import: --pick takes DEPLOYMENT="MODEL / TYPE", got {text!r}')
    return deployment.strip(), offer.strip().strip('"')


def _print(review: PriceReview, written: str | None) -> None:
    entries = [p.to_entry() for p in review.prices]
    pools = [p.to_entry() for p in review.pools]
    if entries or pools:
        print("Proposed entries (review them; --write FILE puts them into a config for `config import`):\n")
        print(yaml.safe_dump({k: v for k, v in (("prices", entries), ("pools", pools)) if v}, sort_keys=False))
        for proposal in review.prices:
            replaced = " (replaces the entry of that date)" if proposal.replaces_entry else ""
            print(f"  {proposal.deployment}{replaced}: " + "; ".join(f"{m} from {s}" for m, s in proposal.sources))
        for pool in review.pools:
            print(f"  pool {pool.deployment}: hourly_rate from {pool.source}")
    else:
        print("Nothing to propose.")
    if review.unchanged:
        print(f"\nUnchanged (the entry in effect has Azure's list rates): {', '.join(review.unchanged)}")
    if review.questions:
        print(f"\n{len(review.questions)} question(s); these deployments get no entry until answered:")
        for q in review.questions:
            print(f"  ? {q.deployment}: {q.question}")
            for option in q.options:
                print(f"      - {option}")
            if q.answer_with:
                print(f"    answer with {q.answer_with}")
    for note in review.notes:
        print(f"  note: {note}")
    if written:
        print(f"\nwrote {written}: check it, then chargeback config import {written}")


def add_prices_commands(sub, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `prices import` (devhost/cli.py calls this with its ``_command``)."""
    cmd = command(sub, "prices", prices, "propose price entries from saved Azure Retail Prices API pages, for review")
    cmd.add_argument("action", choices=["import"], help="read the pages and propose entries")
    cmd.add_argument("files", nargs="+", metavar="FILE", help="saved pages (JSON: a page, or a list of pages)")
    cmd.add_argument("--region", help="armRegionName of the deployments, e.g. eastus (needed when prices differ)")
    cmd.add_argument("--pick", action="append", metavar='DEPLOYMENT="MODEL / TYPE"',
                     help="answer a question: which meter family bills the deployment (repeatable)")
    cmd.add_argument("--effective-from", metavar="YYYY-MM-DD", help="the day the proposed entries apply from")
    cmd.add_argument("--config", metavar="FILE", help="propose against this config YAML instead of the stored one")
    cmd.add_argument("--write", metavar="FILE", help="write the config with the proposals in, for `config import`")
