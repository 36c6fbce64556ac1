"""Against Azurite: a config version is read and parsed once per process, by fingerprint (versions are
content-addressed and never rewritten), and a fingerprint never answers with another version."""
from __future__ import annotations

from chargeback.config.loading import parse_config
from chargeback.storage.config_store import VERSIONS, ConfigStore
from devhost.generate.month import generate_month


def configs():
    first = parse_config(generate_month("2026-10", departments=3, events=50, bad_events=0, seed=1).config_yaml)
    second = parse_config(generate_month("2026-10", departments=5, events=50, bad_events=0, seed=2).config_yaml)
    assert first.fingerprint() != second.fingerprint()
    return first, second


def test_a_version_is_parsed_once_and_each_fingerprint_gets_its_own(app_services):
    store = ConfigStore(app_services.account)
    first, second = configs()
    one, two = store.save(first), store.save(second)
    assert store.get(one) == first and store.get(two) == second
    # Remove both stored rows: this store answers from what it parsed, a fresh store finds nothing.
    for fingerprint in (one, two):
        store.table.delete_entity(VERSIONS, fingerprint)
    assert store.get(one) == first and store.get(two) == second
    assert store.get(one) is not store.get(two)
    fresh = ConfigStore(app_services.account)
    assert fresh.get(one) is None and fresh.get(two) is None
    assert store.get("sha256:" + "0" * 64) is None   # unknown fingerprints are not remembered as anything
