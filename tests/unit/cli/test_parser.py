"""The command line's surface: help on every flag, --json where there is output to parse, --version."""
from __future__ import annotations

import argparse

import pytest

from devhost.cli import build_parser, main
from devhost.commands import UnknownDeadLetter, resolve_ids
from devhost.output import snake_keys


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_argument_of_every_command_has_help_text():
    missing = [f"{name} {a.dest}" for name, p in _subcommands().items() for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []


def test_every_command_that_prints_a_result_takes_json():
    without = sorted(n for n, p in _subcommands().items() if not any(a.dest == "json" for a in p._actions))
    assert without == ["serve"]   # a server: no result to parse


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"chargeback {version('aoai-chargeback')}"


def test_help_points_to_the_config_reference_in_the_repository(capsys):
    from pathlib import Path
    with pytest.raises(SystemExit):
        main(["config", "--help"])
    assert "docs/config.md" in capsys.readouterr().out
    assert (Path(__file__).resolve().parents[3] / "docs" / "config.md").is_file()


def test_dead_letter_ids_resolve_from_full_ids_and_unique_prefixes():
    stored = ["a1b2c3d4e5f6aaaa", "a1b2c3d4e5f6bbbb", "ffff00001111"]
    assert resolve_ids(["ffff0000"], stored) == {"ffff00001111"}
    assert resolve_ids(["a1b2c3d4e5f6aaaa", "ffff00001111"], stored) == {"a1b2c3d4e5f6aaaa", "ffff00001111"}
    with pytest.raises(UnknownDeadLetter, match="start of 2 dead-letter ids"):
        resolve_ids(["a1b2c3d4e5f6"], stored)
    with pytest.raises(UnknownDeadLetter, match="no dead letter with id 'beef'"):
        resolve_ids(["beef"], stored)


def test_json_keys_become_snake_case_and_values_stay():
    assert snake_keys({"runtimeStatus": "Completed", "customStatus": {"stage": "done"},
                       "rows": [{"cached input": 1, "sequenceNumber": 2}], "output": "keepThisValue"}) == \
        {"runtime_status": "Completed", "custom_status": {"stage": "done"},
         "rows": [{"cached_input": 1, "sequence_number": 2}], "output": "keepThisValue"}
