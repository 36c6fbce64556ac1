"""The `chargeback` commands against Azurite: output, exit codes, and the mistakes people make."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import openpyxl
import pytest

from devhost import local_stack
from devhost.azurite import Azurite
from devhost.cli import main
from tests.conftest import ROOT


def v2_event(n: int, subscription: str = "sub-mkt") -> str:
    return json.dumps({"schemaVersion": 2, "requestId": f"req-{n}", "timestamp": "2026-10-10T12:00:00.000Z",
                       "subscriptionId": subscription, "deploymentId": "gpt-4o", "model": "gpt-4o",
                       "statusCode": 200, "stream": False, "usage": {"prompt_tokens": 10, "completion_tokens": 5}})


@pytest.fixture
def cli(app_services, monkeypatch):
    """The CLI on this test's tables (CHARGEBACK_STORAGE is set: no local stack is started)."""
    monkeypatch.setattr(local_stack, "_described", "")
    monkeypatch.delenv("CHARGEBACK_PROGRESS", raising=False)
    return app_services


def _events_file(tmp_path, lines: list[str]):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_storage_command_says_which_storage_it_used_on_stderr(cli, tmp_path, capsys):
    path = _events_file(tmp_path, [v2_event(i) for i in range(3)])
    for argv in (["ingest", str(path)], ["usage", "2026-10", "--json"], ["deadletters", "list"],
                 ["invoices", "list", "2026-10"]):
        assert main(argv) == 0, argv
        out, err = capsys.readouterr()
        assert [line for line in err.splitlines() if line.startswith("storage: ")] == \
            ["storage: the configured storage account (connection string)"], argv
        assert "storage:" not in out   # stdout stays the result alone (pipes, --json)


def test_usage_json_keys_are_snake_case(cli, tmp_path, capsys):
    assert main(["ingest", str(_events_file(tmp_path, [v2_event(1)])), "--json"]) == 0
    ingested = json.loads(capsys.readouterr().out)
    assert ingested["stored"] == 1 and ingested["dead_lettered"] == 0
    assert main(["usage", "2026-10", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["cached_input"] == 0 and row["input"] == 10 and row["output"] == 5


def test_ingest_refuses_a_csv_file_before_storing_anything(cli, tmp_path, capsys):
    path = tmp_path / "usage.csv"
    path.write_text("timestamp,subscription,tokens\n2026-10-01,sub-mkt,10\n")
    assert main(["ingest", str(path)]) == 2
    err = capsys.readouterr().err
    assert "expects JSON lines" in err and "Traceback" not in err
    assert list(cli.dead_letters.list()) == []   # not "succeeded with every row dead-lettered"


def test_ingest_refuses_a_workbook_even_when_renamed(cli, tmp_path, capsys):
    path = tmp_path / "usage.jsonl"            # an .xlsx with a misleading name: the bytes decide
    workbook = openpyxl.Workbook()
    workbook.active.append(["timestamp", "tokens"])
    workbook.save(path)
    assert main(["ingest", str(path)]) == 2
    assert "looks like a spreadsheet" in capsys.readouterr().err


def test_ingest_shows_progress_with_counts_only_when_asked_for_a_terminal(cli, tmp_path, capsys, monkeypatch):
    path = _events_file(tmp_path, [v2_event(i) for i in range(40)])
    assert main(["ingest", str(path), "--batch", "10"]) == 0
    assert "40/40" not in capsys.readouterr().err          # not a terminal: no bar
    monkeypatch.setenv("CHARGEBACK_PROGRESS", "always")    # what a terminal gets
    assert main(["ingest", str(path), "--batch", "10"]) == 0
    out, err = capsys.readouterr()
    assert "40/40" in err and "ingesting events.jsonl" in err and "ETA" in err
    assert "received 40" in out
    assert main(["ingest", str(path), "--json"]) == 0       # --json: quiet even then
    out, err = capsys.readouterr()
    assert "40/40" not in err and json.loads(out)["received"] == 40


def test_a_failed_ingest_says_what_was_stored_that_rerunning_is_safe_and_the_cause(tmp_path, monkeypatch, capsys):
    from chargeback.wiring import reset_services, services
    emulator = Azurite(ROOT).start()          # its own Azurite: this test stops it half-way
    monkeypatch.setenv("CHARGEBACK_STORAGE", emulator.connection_string)
    monkeypatch.setenv("CHARGEBACK_TABLE_PREFIX", "fail")
    monkeypatch.setenv("CHARGEBACK_STORAGE_RETRIES", "0")
    monkeypatch.setattr(local_stack, "_described", "")
    reset_services()

    stored_before: list[int] = []

    def stop_after_first_batch(result):   # partitions are delivered at once: others may finish meanwhile
        stored_before.append(result.stored)
        emulator.stop()
    services().ingest_observers.append(stop_after_first_batch)   # called after each batch, like the counter
    try:
        path = _events_file(tmp_path, [v2_event(i) for i in range(30)])
        assert main(["ingest", str(path), "--batch", "10"]) == 1
    finally:
        emulator.stop()
        reset_services()
    err = capsys.readouterr().err
    assert 0 < sum(stored_before) <= 30   # what the batches that finished before the failure stored
    assert f"stored {sum(stored_before)} of the events before the failure" in err
    assert "rerunning `chargeback ingest" in err and "is safe" in err
    # the cause as the socket saw the emulator go: refused (between requests), reset, closed or a broken pipe
    # (stopped while a request of another partition's batch was in flight)
    gone = ("Connection refused", "Connection reset", "Remote end closed connection", "Connection aborted",
            "Broken pipe")
    assert any(cause in err for cause in gone) and "Traceback" not in err, err


def test_run_month_before_any_config_import_says_so_at_once(cli, capsys):
    started = time.monotonic()
    assert main(["run-month", "2026-10"]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "no configuration imported yet: chargeback config import FILE" in err and "Traceback" not in err


def test_serve_on_a_busy_port_says_so_without_a_traceback(cli, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err and "Traceback" not in err


def test_output_piped_into_a_reader_that_goes_away_ends_quietly():
    chargeback = [sys.executable, "-m", "devhost.cli"]
    process = subprocess.Popen([*chargeback, "config", "fingerprint", "the-key"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    process.stdout.close()                  # like `| head -0`: nobody reads
    err = process.stderr.read().decode()
    assert process.wait(60) in (0, 1)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err


def _dead_letter_ids(capsys) -> list[str]:
    assert main(["deadletters", "list", "--json"]) == 0
    return [d["id"] for d in json.loads(capsys.readouterr().out)]


def test_deadletters_replay_takes_the_short_ids_list_prints(cli, tmp_path, capsys):
    bad = [json.dumps({"schemaVersion": 2, "requestId": f"bad-{i}"}) for i in range(3)]  # no subscription
    assert main(["ingest", str(_events_file(tmp_path, bad))]) == 0
    capsys.readouterr()
    ids = _dead_letter_ids(capsys)
    assert len(ids) == 3
    assert main(["deadletters", "list"]) == 0
    listed = capsys.readouterr().out
    short = ids[0][:12]
    assert short in listed and ids[0] not in listed        # list prints 12 characters
    assert main(["deadletters", "replay", short, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"replayed": 0, "still_invalid": 1}


def test_deadletters_replay_refuses_unknown_and_ambiguous_ids(cli, tmp_path, capsys):
    bad = [json.dumps({"schemaVersion": 2, "requestId": f"bad-{i}"}) for i in range(2)]
    assert main(["ingest", str(_events_file(tmp_path, bad))]) == 0
    capsys.readouterr()
    ids = _dead_letter_ids(capsys)
    assert main(["deadletters", "replay", "0000nosuchid"]) == 2
    assert "no dead letter with id '0000nosuchid'" in capsys.readouterr().err
    common = os.path.commonprefix(ids)  # noqa: RUF071 (characters, not paths; may be empty: starts every id)
    assert main(["deadletters", "replay", common]) == 2
    assert "start of 2 dead-letter ids" in capsys.readouterr().err
    assert len(_dead_letter_ids(capsys)) == 2   # nothing was replayed or removed


def test_a_storage_failure_names_its_root_cause_such_as_a_reset_connection():
    """A server that resets every connection: the SDK's error names 'Connection reset by peer' under it."""
    import struct
    import threading

    from azure.core.exceptions import AzureError
    from azure.data.tables import TableServiceClient

    from chargeback.storage.account import failure_cause
    from devhost.azurite import connection_string
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def reset_everyone():
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            time.sleep(0.05)   # the request has arrived, unread: closing now sends a reset
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
            client.close()
    threading.Thread(target=reset_everyone, daemon=True).start()
    ports = type("P", (), {"blob": port, "queue": port, "table": port})()
    service = TableServiceClient.from_connection_string(connection_string(ports), retry_total=0)
    try:
        with pytest.raises(AzureError) as failed:
            service.create_table("anything")
    finally:
        server.close()
    assert "Connection reset by peer" in failure_cause(failed.value)
    assert failure_cause(failed.value).startswith(type(failed.value).__name__ + ": ")
