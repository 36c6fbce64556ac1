"""`chargeback usage YYYY-MM --by user|tag`: each department's top end users or tags in the stored usage."""
from __future__ import annotations

from chargeback.errors import InvalidConfig
from chargeback.months import month_bounds
from chargeback.usage.attribution_rollup import OTHERS, TAG, USER
from chargeback.usage.reading import aggregate_stored_month
from chargeback.wiring import services
from devhost.output import print_json, table

TOP = 10


def usage_by_attribution(args) -> int:
    """Print (or --json) the top users or tags of every department with attributed calls, then all others."""
    month_bounds(args.month)
    s = services()
    fingerprint = s.config.current_fingerprint()
    config = s.config.get(fingerprint) if fingerprint else None
    if config is None:
        raise InvalidConfig(["no configuration imported: run `chargeback config import FILE` first"])
    kind = USER if args.by == "user" else TAG
    top = aggregate_stored_month(s.usage, args.month).attribution.top_by_department(config.department_for, TOP)
    rows = [[dept, row.label, row.requests, row.tokens]
            for dept, found in top.items() for row in found if row.kind == kind]
    heading = "end user" if kind == USER else "tag"
    if args.json:
        print_json({"month": args.month, "by": args.by,
                    "rows": [{"department": d, heading.replace(" ", "_"): label, "requests": r, "tokens": t}
                             for d, label, r, t in rows]})
        return 0
    print(f"Top {TOP} {heading}s per department in {args.month} by tokens (input + output; measured, not priced)")
    if not rows:
        print(f"  no calls named a{'n' if kind == USER else ''} {heading} this month")
        return 0
    shown = [[d, "(all others)" if label == OTHERS else label, r, t] for d, label, r, t in rows]
    print(table(["department", heading, "requests", "tokens"], shown))
    return 0
