"""`chargeback demo`: the main job end to end on generated data, on the local stack."""
from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from . import commands, local_stack


def demo(args) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    events_file, config_file = out / f"usage-{args.month}.jsonl", out / "config.yaml"
    print(f"== 1. generate a month of usage ({args.events:,} events, {args.departments} departments)")
    commands.generate(Namespace(output=events_file, config_out=config_file, month=args.month,
                                departments=args.departments, events=args.events, format="v2", seed=args.seed,
                                bad_events=None, json=False))
    print(f"\n== 2. storage: {local_stack.ensure_storage()}")
    print("\n== 3. ingest through the Event Hub trigger (run it twice: redelivery changes nothing)")
    commands.ingest(Namespace(file=events_file, batch=500, json=False))
    print(f"\n== 4. usage stored for {args.month}")
    commands.usage(Namespace(month=args.month, json=False))
    print(f"\nFiles in {out}/. Stop the local Azurite with: chargeback stack down")
    return 0
