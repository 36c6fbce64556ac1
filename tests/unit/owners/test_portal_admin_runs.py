"""The admin's run panel (chargeback/owners/portal_admin_runs.py) and the page's policy for its form."""
from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from chargeback.owners.portal import CONTENT_SECURITY_POLICY
from chargeback.owners.portal_admin_runs import REASON_SHOWN, MonthRun, describe, runs_panel

from .test_portal import policy_directives

AT = datetime(2026, 11, 1, 6, 5, 9, tzinfo=UTC)


class Cells(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.forms, self.buttons, self.scripts = [], [], 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(a)
        elif tag == "button":
            self.buttons.append(a)
        elif tag == "input":
            self.forms[-1].setdefault("inputs", {})[a["name"]] = a["value"]
        elif tag == "script":
            self.scripts += 1


def test_each_status_reads_as_a_sentence():
    assert describe(MonthRun("2026-10", "not started")) == "not started"
    assert describe(MonthRun("2026-10", "Pending", AT, requested_by="f@example.com")) == \
        "queued at 2026-11-01 06:05 UTC (started by f@example.com)"
    assert describe(MonthRun("2026-10", "Running", AT, stage="aggregating")) == "running: aggregating"
    assert describe(MonthRun("2026-10", "Completed", AT)) == "completed at 2026-11-01 06:05 UTC"
    assert describe(MonthRun("2026-10", "Failed", AT, reason="pricing: no price for gpt-5")) == \
        "failed at 2026-11-01 06:05 UTC: pricing: no price for gpt-5"
    assert describe(MonthRun("2026-10", "Terminated", AT)) == "terminated at 2026-11-01 06:05 UTC"
    long = describe(MonthRun("2026-10", "Failed", AT, reason="x" * 500))
    assert long.endswith("x…") and long.count("x") == REASON_SHOWN - 1


def test_the_panel_posts_one_form_per_month_and_disables_running_ones():
    runs = [MonthRun("2026-10", "Running", AT), MonthRun("2026-09", "Completed", AT)]
    html = runs_panel(runs, lambda month: f"tok-{month}", "2026-10")
    cells = Cells(html)
    assert [f["action"] for f in cells.forms] == ["/api/portal/months/2026-10/rerun",
                                                  "/api/portal/months/2026-09/rerun"]
    assert all(f["method"] == "post" for f in cells.forms) and cells.scripts == 0
    assert [f["inputs"] for f in cells.forms] == [{"token": "tok-2026-10", "until": "2026-10"},
                                                  {"token": "tok-2026-09", "until": "2026-10"}]
    assert ["disabled" in b for b in cells.buttons] == [True, False]


def test_everything_from_storage_is_escaped():
    evil = '<script>alert(1)</script>"'
    html = runs_panel([MonthRun("2026-10", "Failed", AT, reason=evil, requested_by=evil)],
                      lambda month: '"><script>', "2026-10")
    assert "<script>" not in html and Cells(html).scripts == 0
    assert 'title="&lt;script&gt;alert(1)&lt;/script&gt;&quot;"' in html


def test_without_a_key_there_is_no_form_and_the_page_says_why():
    html = runs_panel([MonthRun("2026-10", "Completed", AT)], None, "2026-10", "CHARGEBACK_CSRF_KEY is not set")
    assert "<form" not in html and "Reruns from the portal are off: CHARGEBACK_CSRF_KEY is not set" in html


def test_the_policy_keeps_every_directive_and_lets_forms_post_only_here():
    policy = policy_directives(CONTENT_SECURITY_POLICY)
    assert set(policy) == {"default-src", "style-src", "img-src", "base-uri", "form-action", "frame-ancestors"}
    assert policy["form-action"] == ["'self'"]
    assert policy["default-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["img-src"] == ["'self'", "data:"] and policy["frame-ancestors"] == ["'none'"]
    assert len(policy["style-src"]) == 1 and policy["style-src"][0].startswith("'sha256-")
