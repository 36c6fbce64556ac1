"""Issue 11: one Azurite per data folder. Two commands on a cold stack started two Azurites over one
folder (the second saw none of the first's records); a truncated stack.json did the same."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from azure.storage.blob import BlobServiceClient

from devhost import local_stack
from devhost.azurite import Ports, connection_string
from tests.conftest import ROOT

CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from devhost import local_stack
    local_stack.STATE_DIR = Path(sys.argv[1])
    print(json.dumps(local_stack.up()))
""")


def azurites_on(folder) -> list[int]:
    listing = subprocess.run(["ps", "-ax", "-ww", "-o", "pid=,command="], capture_output=True, text=True,
                             check=True).stdout
    return [int(line.split()[0]) for line in listing.splitlines()
            if "azurite" in line and "--location" in line and str(folder) in line.split()]


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    folder = tmp_path / ".chargeback"
    monkeypatch.setattr(local_stack, "STATE_DIR", folder)
    yield folder
    local_stack.down()
    for pid in azurites_on(folder / "azurite"):   # whatever a failing run left behind
        subprocess.run(["kill", str(pid)], check=False)


def test_two_commands_on_a_cold_stack_start_one_azurite(state_dir):
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(state_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    states = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        states.append(json.loads(out))
    assert states[0]["pid"] == states[1]["pid"] and states[0]["ports"] == states[1]["ports"]
    assert azurites_on(state_dir / "azurite") == [states[0]["pid"]]


@pytest.mark.parametrize("damage", ["truncated", "lost", "not a mapping"])
def test_a_broken_stack_json_finds_the_azurite_that_serves_the_folder(state_dir, damage):
    first = local_stack.up()
    state_file = state_dir / "stack.json"
    text = state_file.read_text()
    if damage == "truncated":
        state_file.write_text(text[: len(text) // 2])
    elif damage == "lost":
        state_file.unlink()
    else:
        state_file.write_text("[1, 2]")
    again = local_stack.up()
    assert again["pid"] == first["pid"] and again["ports"] == first["ports"] and again["running"]
    assert azurites_on(state_dir / "azurite") == [first["pid"]]
    assert json.loads(state_file.read_text())["pid"] == first["pid"]   # rebuilt
    assert local_stack.down() is True


def test_an_azurite_whose_folder_was_deleted_is_stopped_and_a_new_one_serves_the_new_folder(state_dir):
    """A clone removed and made again at the same path while its stack ran: the old Azurite names the same
    folder but serves a deleted one. Adopted, every blob read failed with "Incomplete download."."""
    first = local_stack.up()
    shutil.rmtree(state_dir)
    again = local_stack.up()
    assert again["running"] and again["pid"] != first["pid"]
    assert azurites_on(state_dir / "azurite") == [again["pid"]]   # the old one stopped before up() returned
    blobs = BlobServiceClient.from_connection_string(connection_string(Ports(**again["ports"])))
    container = blobs.get_container_client("roundtrip")
    container.create_container()
    container.upload_blob("one", b"x" * 100_000)
    assert container.download_blob("one").readall() == b"x" * 100_000
    assert json.loads((state_dir / "stack.json").read_text())["pid"] == again["pid"]
