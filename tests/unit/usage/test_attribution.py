"""endUser stored as a keyed hash when CHARGEBACK_END_USER_HASH_KEY is set; bounds on the attribution fields."""
from __future__ import annotations

import json

import pytest

from chargeback.settings import Settings, use_settings
from chargeback.usage.events import RawEvent, parse_event

EVENT = {"schemaVersion": 2, "requestId": "req-hash", "timestamp": "2026-10-04T00:00:00Z", "subscriptionId": "sub-a",
         "endUser": "alice@contoso.com"}


@pytest.fixture
def hash_key():
    use_settings(Settings(end_user_hash_key="k3y-for-tests"))
    yield
    use_settings(None)


def test_end_user_is_stored_as_its_hmac_when_a_key_is_set(hash_key):
    record = parse_event(RawEvent(json.dumps(EVENT).encode()))
    # printf 'alice@contoso.com' | openssl dgst -sha256 -hmac 'k3y-for-tests'
    assert record.end_user == "hmac:91856ef2bdaace6fa18c88d8ec8a964d585e4ace3d1bd80fb5a8908407698e01"
    assert "alice" not in repr(record)


def test_end_user_is_kept_as_sent_without_a_key():
    use_settings(Settings())
    try:
        assert parse_event(RawEvent(json.dumps(EVENT).encode())).end_user == "alice@contoso.com"
    finally:
        use_settings(None)


def test_the_hash_key_is_never_shown_by_the_settings():
    assert "k3y" not in repr(Settings(end_user_hash_key="k3y-for-tests"))


@pytest.mark.parametrize(("value", "kept"), [("a" * 128, "a" * 128), ("a" * 129, ""), ("tab\there", ""),
                                             ("", ""), ("  ", "")])
def test_end_user_bounds(value, kept):
    use_settings(Settings())
    try:
        assert parse_event(RawEvent(json.dumps({**EVENT, "endUser": value}).encode())).end_user == kept
    finally:
        use_settings(None)
