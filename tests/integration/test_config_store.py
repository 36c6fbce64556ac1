"""The configuration in Table Storage, and `chargeback config` against the real emulator."""
from __future__ import annotations

from pathlib import Path

from chargeback.config.loading import parse_config
from devhost.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "configs"

GOOD = """
currency: USD
departments:
  - id: marketing
    name: Marketing
    cost_center: CC-1001
    owners: [alice@example.com]
    notify: {email: [alice@example.com], webhook: null}
    subscriptions: [sub-mkt-01]
prices:
  - deployment: gpt-4o
    effective_from: 2026-01-01
    unit: 1M
    input: 2.50
    cached_input: 1.25
    output: 10.00
admins: [finance@example.com]
"""


def test_saved_config_reads_back_equal_and_versions_are_kept(app_services):
    store = app_services.config
    assert store.current() is None
    first = parse_config(GOOD)
    fp1 = store.save(first, source="good.yaml")
    second = parse_config(GOOD.replace("2.50", "2.40"))
    fp2 = store.save(second, source="cheaper.yaml")
    assert fp1 != fp2 and store.current_fingerprint() == fp2
    assert store.current() == second
    assert store.get(fp1) == first  # the config an old run used is still there
    assert [v["fingerprint"] for v in store.versions()] == [fp2, fp1]


def test_import_refuses_a_bad_file_and_keeps_the_stored_config(app_services, tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("unit: 1M", "unit: 1G").replace("subscriptions:", "subscription:"))
    assert main(["config", "import", str(good)]) == 0
    before = app_services.config.current_fingerprint()
    assert main(["config", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "prices[0].unit" in err and "departments[0].subscription" in err and "unchanged" in err
    assert app_services.config.current_fingerprint() == before


def test_a_large_config_spans_several_properties(app_services):
    departments = "\n".join(
        f"  - {{id: dept-{i:03d}, name: Department {i}, cost_center: CC-{i}, owners: [o{i}@example.com], "
        f"subscriptions: [sub-{i:03d}-a, sub-{i:03d}-b]}}" for i in range(400))
    big = parse_config(GOOD.replace("departments:\n", "departments:\n" + departments + "\n", 1))
    fingerprint = app_services.config.save(big)
    assert len(app_services.config.get(fingerprint).departments) == 401


def test_fingerprint_command_reads_the_key_from_stdin(monkeypatch, capsys):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("my-secret-key\n"))
    assert main(["config", "fingerprint", "-"]) == 0
    # sha256("my-secret-key"), computed independently with `printf %s my-secret-key | sha256sum`
    assert capsys.readouterr().out.strip() == \
        "sha256:" + "1311f8fc80a7ea28d78dd7723f09c44c1754cd35160ca8e7133ae3d7f636a19a"
