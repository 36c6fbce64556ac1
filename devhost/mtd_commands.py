"""`chargeback refresh [YYYY-MM]` (the month-to-date orchestration, once, through the local Durable host, as
the timer starts it) and `chargeback usage YYYY-MM --by ...` (cost and quantities as of the last refresh)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chargeback.errors import StorageUnavailable
from chargeback.months import parse_month
from chargeback.storage.rollup_store import RollupStore
from chargeback.wiring import services
from chargeback.workflow.month_to_date import breakdown
from devhost import local_stack
from devhost.output import print_json, say, table


def refresh_once(month: str, timeout: float = 600.0) -> dict:
    """Run the month-to-date orchestration once through the local host; its final status."""
    from devhost.local_host import LocalHost
    from orchestrations.month_to_date import mtd_instance
    from orchestrations.names import MONTH_TO_DATE
    with LocalHost() as host:
        instance = host.durable.start_new(MONTH_TO_DATE, mtd_instance(month), {"month": month, "trigger": "cli"})
        return host.durable.wait_for_completion(instance, timeout)


def refresh(args) -> int:
    month = parse_month(args.month or f"{datetime.now(UTC):%Y-%m}")
    say(f"storage: {local_stack.ensure_storage()}")   # as every storage command says (devhost/commands.py)
    if not services().settings.storage_connection:
        raise StorageUnavailable("refresh runs the orchestration on this machine, which needs a storage "
                                 "connection string; deployed, the hourly timer refreshes month to date")
    status = refresh_once(month)
    output = status.get("output") or {}
    if args.json:
        print_json({"month": month, "runtime_status": status.get("runtime_status"), **output})
    elif status.get("runtime_status") == "Completed":
        print(f"month to date {month}: {output['total']} {output['currency']}; read "
              f"{output['partitions_read']} changed partition(s), {output['records_read']:,} record(s); "
              f"{len(output['alerts'])} budget alert(s) sent")
    else:
        print(f"refresh of {month} {status.get('runtime_status')}: {output}")
    return 0 if status.get("runtime_status") == "Completed" else 1


def usage_to_date(args) -> int:
    """Cost and quantities of the month so far, by department, deployment or meter (as of the last refresh)."""
    month = parse_month(args.month)
    document = RollupStore(services().account).month_to_date(month)
    if document is None:
        message = f"no month to date for {month} yet: run `chargeback refresh {month}`"
        if args.json:
            print_json({"month": month, "as_of": None, "rows": [], "note": message})
        else:
            print(message)
        return 0
    rows = by_rows(document, args.by)
    if args.json:
        print_json({"month": month, "as_of": document["as_of"], "currency": document["currency"], "by": args.by,
                    "total": document["total"], "rows": rows})
        return 0
    print(f"Month to date {month} by {args.by}, as of {document['as_of']} ({document['currency']})")
    headers = list(rows[0]) if rows else [args.by, "cost"]
    print(table(headers, [[r[h] for h in headers] for r in rows] + [["total", document["total"]]
                                                                      + [""] * (len(headers) - 2)]))
    return 0


def by_rows(document: dict, by: str) -> list[dict]:
    if by == "department":
        return [{"department": d["department"], "cost": d["total"], "forecast": d["forecast"],
                 "budget": d["budget"]["monthly"] if d["budget"] else ""} for d in document["departments"]]
    cost: dict[str, Decimal] = {}
    quantity: dict[str, Decimal] = {}
    for dept in document["departments"]:
        for row in breakdown(dept, by):
            cost[row[by]] = cost.get(row[by], Decimal(0)) + Decimal(row["cost"])
            quantity[row[by]] = quantity.get(row[by], Decimal(0)) + Decimal(row["quantity"])
    return [{by: key, "cost": str(cost[key]), "quantity": str(quantity[key])} for key in sorted(cost)]
