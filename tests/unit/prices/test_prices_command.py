"""`chargeback prices import`: the review printed, questions shown, --write gives a config that imports."""
from __future__ import annotations

import json
from pathlib import Path

from chargeback.config.loading import parse_config
from devhost.cli import main

from .test_prices_import import CONFIG, PAGES


def test_review_then_write_a_config_for_import(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    pages = [str(p) for p in PAGES]
    assert main(["prices", "import", *pages, "--config", str(config), "--region", "eastus"]) == 0
    out = capsys.readouterr().out
    assert "deployment: gpt-4o-mini" in out and "? gpt-4o: several model versions" in out
    assert '--pick gpt-4o="MODEL / TYPE"' in out
    assert "Unchanged (the entry in effect has Azure's list rates): gpt-5" in out

    target = tmp_path / "proposed.yaml"
    assert main(["prices", "import", *pages, "--config", str(config), "--region", "eastus", "--pick",
                 'gpt-4o="gpt 4o 0806 / Global"', "--effective-from", "2026-11-01", "--write", str(target),
                 "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["written"] == str(target) and shown["questions"] == []
    written = parse_config(target.read_text(encoding="utf-8"))
    latest = {d: written.price_history(d)[-1] for d in ("gpt-4o", "gpt-4o-mini", "o3-mini")}
    assert {d: str(p.effective_from) for d, p in latest.items()} == dict.fromkeys(latest, "2026-11-01")
    assert written.pool_history("gpt-4o-ptu")[-1].hourly_rate == 1
    assert len(written.prices) == len(parse_config(CONFIG).prices) + 3


def test_a_file_that_is_not_a_page_is_refused(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    bad = Path(tmp_path / "page.json")
    bad.write_text("[1, 2]", encoding="utf-8")
    assert main(["prices", "import", str(bad), "--config", str(config)]) == 2
    assert "page.json: page 1 has no Items list" in capsys.readouterr().err
