"""A whole month through the local host: ingest, config, orchestration, invoices."""
from __future__ import annotations

import json

import pytest

from chargeback.config.loading import parse_config
from devhost.ingest_runner import ingest_lines
from devhost.local_host import LocalHost

# Figures in tests/e2e are worked out by hand in the comments next to them.
CONFIG = """
currency: USD
markup_percent: 0
departments:
  - {id: marketing, name: Marketing, cost_center: CC-1001, owners: [alice@example.com],
     notify: {email: [alice@example.com], webhook: null}, subscriptions: [sub-mkt]}
  - {id: sales, name: Sales, cost_center: CC-1002, owners: [bob@example.com],
     notify: {email: [bob@example.com], webhook: null}, subscriptions: [sub-sales]}
prices:
  - {deployment: gpt-4o, effective_from: 2026-01-01, unit: 1M, input: 2.50, cached_input: 1.25, output: 10.00}
pools:
  - {deployment: gpt-4o-ptu, effective_from: 2026-01-01, monthly_cost: 300.00,
     weights: {input: 1, cached_input: 0, output: 4}}
admins: [finance@example.com]
"""


def event(request_id, subscription, deployment, prompt, completion, cached=0, day=10):
    return json.dumps({"schemaVersion": 2, "requestId": request_id, "timestamp": f"2026-10-{day:02d}T12:00:00.000Z",
                       "subscriptionId": subscription, "deploymentId": deployment, "model": deployment,
                       "stream": False, "statusCode": 200,
                       "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "prompt_tokens_details": {"cached_tokens": cached}}})


OCTOBER = [
    event("m-1", "sub-mkt", "gpt-4o", 1_000_000, 100_000, cached=200_000),   # 2.00 + 0.25 + 1.00 = 3.25
    event("s-1", "sub-sales", "gpt-4o", 400_000, 50_000),                    # 1.00 + 0.50 = 1.50
    event("m-2", "sub-mkt", "gpt-4o-ptu", 1_000, 500),                       # weighted 1000 + 4*500 = 3000
    event("s-2", "sub-sales", "gpt-4o-ptu", 3_000, 1_000, cached=1_024),     # (3000-1024) + 4*1000 = 5976
]
# Pool 300.00 by 3000 : 5976 (of 8976): 100.267… and 199.732…; floors 100.26 + 199.73 leave one cent,
# the larger remainder (.737 > .262) is marketing's: 100.27 and 199.73.
EXPECTED_TOTALS = {"marketing": "103.52", "sales": "201.23"}   # 3.25 + 100.27; 1.50 + 199.73
LATE = [event("s-3", "sub-sales", "gpt-4o", 400_000, 0, day=30)]  # 400k x 2.50/1M = 1.00
EXPECTED_AFTER_LATE = {"marketing": "103.52", "sales": "202.23"}


@pytest.fixture
def month_loaded(app_services):
    app_services.config.save(parse_config(CONFIG))
    result = ingest_lines(OCTOBER)
    assert result.stored == len(OCTOBER)
    return app_services


@pytest.fixture
def local_host(month_loaded):
    host = LocalHost(retry_delay_scale=0.001)
    yield host
    host.close()
