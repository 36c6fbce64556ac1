"""`chargeback gateway unmatched YYYY-MM`: halves of calls from API Management's resource logs still alone."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from chargeback.months import parse_month
from chargeback.wiring import services
from chargeback.workflow.gateway_ingest import gateway_warnings
from devhost.commands import use_storage
from devhost.output import print_json, table


def gateway(args: Any) -> int:
    month = parse_month(args.month)
    use_storage()
    halves = services().gateway_halves.month(month)
    if args.json:
        print_json({"month": month, "streamed_calls": halves.streamed_calls,
                    "non_streamed_llm_calls": halves.non_streamed_llm_calls,
                    "lone_llm": halves.lone_llm, "lone_requests": halves.lone_requests,
                    "unmatched": [h.as_dict() for h in halves.lone]})
        return 0
    print(f"{month}: {halves.streamed_calls:,} streamed call(s) completed from gateway logs; "
          f"{halves.non_streamed_llm_calls:,} non-streamed LLM log call(s) (billed by their v2 events; "
          "a cross-check count)")
    if not halves.lone:
        print("no unmatched halves")
        return 0
    for warning in gateway_warnings(halves):
        print("  " + warning)
    print(table(["correlation id", "half", "time", "subscription", "deployment", "stream", "input", "output"],
                [[h.correlation_id, h.kind, h.time.isoformat(), h.subscription, h.deployment,
                  "yes" if h.stream else "no", h.prompt_tokens, h.completion_tokens] for h in halves.lone]))
    return 0


def add_gateway_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `gateway unmatched` (devhost/cli.py calls this with its ``_command``)."""
    p = command(sub, "gateway", gateway, "gateway-logs metering: list the halves of calls (GatewayLogs or "
                                         "GatewayLlmLogs records) whose other half has not arrived")
    p.add_argument("action", choices=["unmatched"], help="list the month's unmatched halves")
    p.add_argument("month", metavar="YYYY-MM", help="the month (by each half's own time)")
