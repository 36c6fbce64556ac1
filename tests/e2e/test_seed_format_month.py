"""A team still on the seed's policy: v1 events billed to the department that lists the key's fingerprint."""
from __future__ import annotations

import json

from chargeback.config.loading import parse_config
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

RAW_KEY = "0123456789abcdef0123456789abcdef"
# printf %s 0123456789abcdef0123456789abcdef | sha256sum
FINGERPRINT = "sha256:3eb1bd439947eb762998e566ccc2e099c791118b2f40579cc4f7da2b5061b7f9"
CONFIG = f"""
currency: USD
departments:
  - {{id: legal, name: Legal, cost_center: CC-1004, owners: [carol@example.com], subscriptions: ["{FINGERPRINT}"]}}
prices:
  - {{deployment: gpt-4o, effective_from: 2026-01-01, unit: 1K, input: 0.005, output: 0.015}}
admins: [finance@example.com]
"""


def seed_event(timestamp: str, prompt: int, completion: int) -> str:
    return json.dumps({"timestamp": timestamp, "appSubscriptionKey": RAW_KEY, "promptTokens": str(prompt),
                       "completionTokens": str(completion), "totalTokens": str(prompt + completion),
                       "deploymentId": "gpt-4o"})


def test_seed_format_usage_is_invoiced_by_key_fingerprint(app_services):
    app_services.config.save(parse_config(CONFIG))
    ingest_lines([
        seed_event("10/7/2026 3:15:00 PM", 2_000, 1_000),     # 2 x 0.005 + 1 x 0.015 = 0.025
        seed_event("10/31/2026 11:59:59 PM", 10_000, 2_000),  # 10 x 0.005 + 2 x 0.015 = 0.08
        seed_event("11/1/2026 12:00:00 AM", 99_000, 0),       # November: not in October's invoice
    ])
    with LocalHost(retry_delay_scale=0.001) as host:
        output = host.run_month("2026-10", timeout=120)["output"]
    # 0.025 + 0.08 = 0.105 -> one line per price period, rounded half up once: 0.11
    assert {i["department"]: i["total"] for i in output["invoices"]} == {"legal": "0.11"}
    assert output["records"] == 2
