"""The CLI's commands: each parses nothing, calls the domain or the local host, and prints."""
from __future__ import annotations

import sys

from chargeback.errors import ChargebackError
from chargeback.months import month_bounds
from chargeback.usage.reading import aggregate_stored_month, totals_by
from chargeback.wiring import services
from chargeback.workflow.ingesting import replay_dead_letters
from devhost import local_stack
from devhost.output import print_json, progress, say, shows_progress, snake_keys, table


class UnknownDeadLetter(ChargebackError):
    """A dead-letter id (or prefix) that names none, or more than one, of the stored ones."""


def use_storage() -> str:
    """Point the process at its storage and say which (one line on stderr): every storage command calls this."""
    where = local_stack.ensure_storage()
    say(f"storage: {where}")
    return where


def stack(args) -> int:
    if args.action == "up":
        state = local_stack.up()
    elif args.action == "down":
        state = {"stopped": local_stack.down()}
    else:
        state = local_stack.status()
    if args.json:
        print_json(state)
    elif args.action == "down":
        print("local Azurite stopped" if state["stopped"] else "local Azurite was not running")
    elif state.get("running"):
        print(f"local Azurite running (pid {state['pid']}), blob {state['ports']['blob']}, "
              f"queue {state['ports']['queue']}, table {state['ports']['table']}; data in {state['location']}")
    else:
        print("local Azurite is not running (any command starts it; `chargeback stack up` does too)")
    return 0


def generate(args) -> int:
    from devhost.generate.month import write_events
    expected = write_events(args.output, args.month, departments=args.departments, events=args.events,
                            fmt=args.format, seed=args.seed, bad_events=args.bad_events,
                            config_path=args.config_out)
    summary = {"file": str(args.output), "events": expected.events, "bad": expected.bad,
               "unmetered": expected.unmetered, "format": args.format,
               "config": str(args.config_out) if args.config_out else None}
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {expected.events:,} {args.format} events for {args.month} to {args.output} "
              f"({expected.bad} invalid on purpose, {expected.unmetered} streams without usage)")
        if args.config_out:
            print(f"wrote a config claiming their subscriptions to {args.config_out}")
    return 0


def ingest(args) -> int:
    from devhost.ingest_runner import IngestStopped, already_stored, check_json_lines, count_events, ingest_file
    check_json_lines(args.file)   # before storage starts: a CSV or a workbook is refused at once
    where = use_storage()
    show = shows_progress(args.json)
    resumed = already_stored(args.file)   # per-partition checkpoints an interrupted ingest of the file left
    if resumed:
        say(f"resuming: the {resumed:,} events an interrupted ingest of {args.file} stored are skipped")
    total = count_events(args.file) - resumed if show else None
    try:
        with progress(f"ingesting {args.file.name}", total, show) as advance:
            result = ingest_file(args.file, args.batch, on_batch=advance)
    except IngestStopped as stopped:
        done = stopped.done
        say(f"chargeback ingest: stopped: {stopped.cause}\n"
            f"  stored {done.stored:,} of the events before the failure ({done.dead_lettered:,} dead-lettered); "
            f"rerunning `chargeback ingest {args.file}` is safe: stored events are rewritten, never counted twice")
        if args.json:
            print_json({**done.as_dict(), "storage": where, "error": stopped.cause, "completed": False})
        return 1
    if args.json:
        print_json({**result.as_dict(), "storage": where})
    else:
        print(f"ingested {args.file} into {where}")
        print(f"  received {result.received:,}  stored {result.stored:,}  dead-lettered {result.dead_lettered:,}"
              f"  (unmetered streams kept: {result.unmetered:,})")
        if result.dead_lettered:
            print("  see them with: chargeback deadletters list")
    return 0


def usage(args) -> int:
    month_bounds(args.month)
    use_storage()
    if getattr(args, "by", None) in ("user", "tag"):   # devhost/attribution_commands.py (issue 15)
        from devhost.attribution_commands import usage_by_attribution
        return usage_by_attribution(args)
    if getattr(args, "by", None):   # month to date, as of the last refresh (devhost/mtd_commands.py)
        from devhost.mtd_commands import usage_to_date
        return usage_to_date(args)
    month = aggregate_stored_month(services().usage, args.month)
    rows = [[sub, dep, t.requests, t.prompt_tokens, t.cached_tokens, t.completion_tokens, t.reasoning_tokens,
             t.unmetered] for (sub, dep), t in totals_by(month, "subscription", "deployment").items()]
    headers = ["subscription", "deployment", "requests", "input", "cached input", "output", "reasoning",
               "unmetered"]
    keys = [h.replace(" ", "_") for h in headers]
    if args.json:
        print_json({"month": args.month, "rows": [dict(zip(keys, r, strict=True)) for r in rows]})
        return 0
    print(f"Usage in {args.month} by subscription and deployment (input includes cached, output includes reasoning)")
    if not rows:
        print("  no usage stored for this month")
        return 0
    totals = [sum(r[i] for r in rows) for i in range(2, 8)]
    print(table(headers, [[_short(r[0]), *r[1:]] for r in rows] + [["total", "", *totals]]))
    return 0


def _short(subscription: str) -> str:
    return subscription[:19] + "…" if subscription.startswith("sha256:") else subscription


def deadletters(args) -> int:
    use_storage()
    s = services()
    stored = list(s.dead_letters.list())
    wanted = resolve_ids(args.ids, [d.id for d in stored]) if args.ids else None
    if args.action == "replay":
        result = replay_dead_letters(s.dead_letters, s.usage, sorted(wanted) if wanted else None,
                                     s.gateway_halves)
        if args.json:
            print_json(result.as_dict())
        else:
            print(f"replayed {result.replayed} (stored and removed), {result.still_invalid} still invalid")
        return 0
    letters = [d for d in stored if wanted is None or d.id in wanted]
    if args.json:
        print_json([snake_keys({k: v for k, v in d.as_dict().items() if args.show_body or k != "body"})
                    for d in letters])
        return 0
    if not letters:
        print("no dead letters")
        return 0
    print(table(["id", "partition", "sequence", "recorded at", "reason"],
                [[d.id[:12], d.partition, d.sequence_number, d.recorded_at.isoformat(timespec="seconds")
                  if d.recorded_at else "", d.reason] for d in letters], right={2}))
    if args.show_body:
        for d in letters:
            print(f"\n{d.id}:\n{d.body}")
    return 0


def resolve_ids(given: list[str], stored: list[str]) -> set[str]:
    """Full ids for the ids or prefixes given (``list`` prints 12 characters); unknown or ambiguous -> error."""
    found: set[str] = set()
    for prefix in given:
        matches = [i for i in stored if i == prefix] or [i for i in stored if i.startswith(prefix)]
        if not matches:
            raise UnknownDeadLetter(f"no dead letter with id {prefix!r} (see: chargeback deadletters list)")
        if len(matches) > 1:
            raise UnknownDeadLetter(f"{prefix!r} is the start of {len(matches)} dead-letter ids "
                                    f"({', '.join(m[:16] for m in matches[:5])}...): give more characters")
        found.add(matches[0])
    return found


def bench(args) -> int:
    from devhost.bench import run_benchmarks
    results = run_benchmarks(args.events, progress=None if args.json else sys.stderr, runs=args.runs,
                             million=args.million)
    if args.json:
        print_json(results)
    else:
        for key, value in results.items():
            print(f"{key:32} {value}")
    return 0
