"""`chargeback config import|show|fingerprint|versions`."""
from __future__ import annotations

import sys
from pathlib import Path

from chargeback.config.loading import parse_config
from chargeback.errors import InvalidConfig
from chargeback.keys import fingerprint
from chargeback.wiring import services
from devhost.commands import use_storage
from devhost.output import print_json, table


def config(args) -> int:
    return {"import": _import, "show": _show, "fingerprint": _fingerprint, "versions": _versions}[args.action](args)


def _import(args) -> int:
    if not args.file_or_key:
        raise SystemExit("chargeback config import: give the YAML file to import")
    path = Path(args.file_or_key)
    text = path.read_text(encoding="utf-8")
    try:
        parsed = parse_config(text)  # the whole file is validated before anything is stored
    except InvalidConfig as exc:
        print(f"chargeback config import: {path} was refused; the stored config is unchanged:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    use_storage()
    stored = services().config.save(parsed, source=str(path))
    if args.json:
        print_json({"fingerprint": stored, "departments": len(parsed.departments), "prices": len(parsed.prices),
                    "pools": len(parsed.pools)})
    else:
        print(f"imported {path}: {len(parsed.departments)} departments, {len(parsed.prices)} prices, "
              f"{len(parsed.pools)} pools ({stored[:19]}…)")
    return 0


def _show(args) -> int:
    use_storage()
    current = services().config.current()
    if current is None:
        print("no config imported yet: chargeback config import FILE", file=sys.stderr)
        return 1
    if args.json:
        print_json({"fingerprint": current.fingerprint(), **current.to_dict()})
        return 0
    print(f"currency {current.currency}, markup {current.markup_percent}%, config {current.fingerprint()[:19]}…")
    print(table(["department", "name", "cost center", "subscriptions", "owners"],
                [[d.id, d.name, d.cost_center, len(d.subscriptions), ", ".join(d.owners)] for d in current.departments],
                right={3}))
    if current.prices:
        print()
        print(table(["deployment", "from", "unit", "input", "cached input", "output"],
                    [[p.deployment, p.effective_from, p.unit, p.input, p.cached_input_rate, p.output]
                     for p in current.prices]))
    if current.pools:
        print()
        print(table(["pool deployment", "from", "monthly cost", "ptus", "hourly rate"],
                    [[p.deployment, p.effective_from, p.monthly_cost, p.ptus, p.hourly_rate] for p in current.pools]))
    return 0


def _fingerprint(args) -> int:
    key = args.file_or_key if args.file_or_key not in (None, "-") else sys.stdin.readline()
    key = str(key).strip()
    if not key:
        print("chargeback config fingerprint: give the key (or '-' and the key on standard input)", file=sys.stderr)
        return 2
    print(fingerprint(key))
    return 0


def _versions(args) -> int:
    use_storage()
    rows = services().config.versions()
    if args.json:
        print_json(rows)
    else:
        print(table(["fingerprint", "imported at", "source"],
                    [[r["fingerprint"], r["imported_at"].isoformat(timespec="seconds"), r["source"]] for r in rows]))
    return 0
