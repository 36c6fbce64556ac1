"""policies/: well-formed XML, the v2 wire contract, and no subscription key in any log."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chargeback.usage.events import V1_FIELDS, V2_FIELDS
from tests.unit.policies.harness import POLICY_FILES, V1, V2

# Anything that reads a subscription key or a credential header.
SECRET_PATTERNS = [
    re.compile(r"Subscription\s*\??\s*\.\s*(Key|PrimaryKey|SecondaryKey)\b"),
    re.compile(r"\b(PrimaryKey|SecondaryKey)\b"),
    re.compile(r"Ocp-Apim-Subscription-Key", re.IGNORECASE),
    re.compile(r"[\"']api-key[\"']", re.IGNORECASE),
    re.compile(r"[\"']Authorization[\"']", re.IGNORECASE),
]


def secret_references(expression: str) -> list[str]:
    """Every place an expression touches a subscription key or a credential header."""
    return [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(expression)]


def logged_expressions(path: Path) -> list[str]:
    """The text and attributes of every log-to-eventhub of a policy (entities decoded)."""
    return [" ".join([e.text or "", *e.attrib.values()]) for e in ET.parse(path).getroot().iter("log-to-eventhub")]  # noqa: S314 (our own policy files)


def emitted_properties(expression: str) -> set[str]:
    return set(re.findall(r'new\s+JProperty\(\s*"([^"]+)"', expression))


# ---------------------------------------------------------------- XML

@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policy_is_a_well_formed_complete_document(path):
    root = ET.parse(path).getroot()  # noqa: S314 (our own policy files)
    assert root.tag == "policies"
    assert [child.tag for child in root] == ["inbound", "backend", "outbound", "on-error"]
    for section in root:
        if path.name == "usage-v2-stream.xml" and section.tag == "backend":
            # an unbuffered forward-request for streams instead of the inherited one (<base /> otherwise):
            # test_policy_stream.py holds that
            continue
        assert section[0].tag == "base", f"{section.tag} must keep the policies of outer scopes"


def test_raw_csharp_generics_are_not_xml_so_the_files_escape_them():
    with pytest.raises(ET.ParseError):
        ET.fromstring("<log-to-eventhub>@(context.Response.Body.As<JObject>(true))</log-to-eventhub>")  # noqa: S314
    for path in POLICY_FILES:
        assert "As<" not in path.read_text() and "&&" not in path.read_text()


def test_both_policies_exist():
    assert {V1, V2} <= set(POLICY_FILES)


# ---------------------------------------------------------------- the wire contract

def test_v2_emits_exactly_the_fields_ingest_reads():
    (expression,) = logged_expressions(V2)
    assert emitted_properties(expression) == set(V2_FIELDS)


def test_v1_seed_emits_the_v1_fields():
    (expression,) = logged_expressions(V1)
    assert emitted_properties(expression) == set(V1_FIELDS)


def test_v2_logs_once_on_success_to_the_chargeback_logger_keyed_by_request():
    root = ET.parse(V2).getroot()  # noqa: S314 (our own policy files)
    (log,) = root.iter("log-to-eventhub")
    assert log.get("logger-id") == "chargeback-usage-logger"
    assert log.get("partition-key") == "@(context.RequestId.ToString())"
    assert log.get("partition-id") is None  # one or the other, never both
    (when,) = root.find("outbound").iter("when")
    assert when.get("condition") == "@(context.Response.StatusCode == 200)"
    assert log in list(when)


# ---------------------------------------------------------------- secrets

@pytest.mark.parametrize(("expression", "found"), [
    ('context.Subscription.Key', True),
    ('context.Subscription?.Key', True),
    ('context.Subscription.PrimaryKey', True),
    ('context.Subscription.SecondaryKey', True),
    ('context.Request.Headers.GetValueOrDefault("Ocp-Apim-Subscription-Key", "")', True),
    ('context.Request.Headers.GetValueOrDefault("api-key", "")', True),
    ('context.Request.Headers.GetValueOrDefault("Authorization", "")', True),
    ('context.Subscription.Id + context.Subscription.Name', False),
    ('new JProperty("subscriptionId", context.Subscription.Id)', False),
])
def test_the_secret_check_recognizes_key_reads(expression, found):
    assert bool(secret_references(expression)) is found


def test_v2_never_logs_a_subscription_key():
    for expression in logged_expressions(V2):
        assert secret_references(expression) == []
    # nor stashes one in a variable or header on the way: nothing in the whole policy reads one
    body = "".join(ET.parse(V2).getroot().itertext()) + " ".join(  # noqa: S314 (our own policy files)
        v for e in ET.parse(V2).getroot().iter() for v in e.attrib.values())  # noqa: S314 (our own policy files)
    assert secret_references(body) == []


def test_the_same_check_flags_the_v1_seed_policy():
    flagged = [ref for expression in logged_expressions(V1) for ref in secret_references(expression)]
    assert flagged == ["Ocp-Apim-Subscription-Key"]
    assert "raw" in V1.read_text().lower() and "fingerprint" in V1.read_text().lower()
