"""scripts/create-app-registration.sh against a stand-in `az` that keeps an app registration's state the way
Microsoft Graph does (PATCH merges top-level properties): the Chargeback.Admin role is created once, kept on
a rerun, and assigned once per admin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chargeback.owners.identity import ADMIN_ROLE

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "create-app-registration.sh"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

FAKE_AZ = r'''
import json, sys, uuid
from pathlib import Path
state_file = Path(__file__).with_name("state.json")
state = json.loads(state_file.read_text())
args = sys.argv[1:]
state["calls"].append(args)
def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default
out = ""
app = state.get("app")
if args[:3] == ["ad", "app", "list"]:
    out = app["appId"] if app and app["displayName"] == opt("--display-name") else ""
elif args[:3] == ["ad", "app", "create"]:
    app = state["app"] = {"id": str(uuid.uuid4()), "appId": str(uuid.uuid4()), "displayName": opt("--display-name"),
                          "appRoles": [], "api": {}, "identifierUris": [],
                          "web": {"redirectUris": [opt("--web-redirect-uris")]}}
    out = app["appId"]
elif args[:3] == ["ad", "app", "show"]:
    assert opt("--id") == app["appId"]
    out = json.dumps(app)
elif args[:2] == ["ad", "sp"] and args[2] == "list":
    out = state["sp"] or ""
elif args[:3] == ["ad", "sp", "create"]:
    state["sp"] = out = "sp-" + opt("--id")
elif args[0] == "rest":
    method, uri, body = opt("--method"), opt("--uri"), json.loads(opt("--body", "null") or "null")
    if method == "PATCH":
        assert uri.endswith("/applications/" + app["id"]), uri
        for key, value in body.items():
            app[key] = {**app.get(key, {}), **value} if key == "api" else value
    elif method == "GET":
        wanted = [a for a in state["assignments"]]
        out = str(len([a for a in wanted if f"principalId=='{a['principalId']}'" in opt("--query")
                       and f"appRoleId=='{a['appRoleId']}'" in opt("--query")]))
    elif method == "POST":
        state["assignments"].append(body)
state_file.write_text(json.dumps(state))
print(out)
'''


@pytest.fixture
def az(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az.py").write_text(FAKE_AZ)
    (bin_dir / "az").write_text(f"#!/bin/sh\nexec {sys.executable} {bin_dir / 'az.py'} \"$@\"\n")
    (bin_dir / "az").chmod(0o755)
    (bin_dir / "state.json").write_text(json.dumps({"calls": [], "app": None, "sp": None, "assignments": []}))

    def run(*arguments: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        return subprocess.run(["bash", str(SCRIPT), *arguments], capture_output=True, text=True, env=env,
                              check=False, timeout=120)
    run.state = lambda: json.loads((bin_dir / "state.json").read_text())
    run.write_state = lambda state: (bin_dir / "state.json").write_text(json.dumps(state))
    return run


def test_it_creates_the_registration_with_the_admin_role_and_a_token_scripts_can_get(az):
    done = az("--function-app", "func-chargeback-x", "--admin", "11111111-aaaa-bbbb-cccc-000000000001")
    assert done.returncode == 0, done.stderr
    app = az.state()["app"]
    assert done.stdout.strip().splitlines()[-1] == f"export CHARGEBACK_AUTH_CLIENT_ID={app['appId']}"
    [role] = [r for r in app["appRoles"] if r["value"] == ADMIN_ROLE]
    assert set(role["allowedMemberTypes"]) == {"User", "Application"} and role["isEnabled"]
    assert app["identifierUris"] == [f"api://{app['appId']}"]
    assert app["api"]["requestedAccessTokenVersion"] == 2
    [scope] = app["api"]["oauth2PermissionScopes"]
    assert app["api"]["preAuthorizedApplications"] == [{"appId": AZURE_CLI, "delegatedPermissionIds": [scope["id"]]}]
    assert app["web"]["redirectUris"] == ["https://func-chargeback-x.azurewebsites.net/.auth/login/aad/callback"]
    assert az.state()["assignments"] == [{"principalId": "11111111-aaaa-bbbb-cccc-000000000001",
                                          "resourceId": az.state()["sp"], "appRoleId": role["id"]}]


def test_a_rerun_keeps_the_role_id_other_roles_and_assigns_nobody_twice(az):
    assert az("--function-app", "f", "--admin", "admin-1").returncode == 0
    state = az.state()
    first_role = next(r for r in state["app"]["appRoles"] if r["value"] == ADMIN_ROLE)
    state["app"]["appRoles"].append({"id": "other", "value": "Reports.Reader", "allowedMemberTypes": ["User"]})
    az.write_state(state)                         # someone added a role of their own meanwhile
    again = az("--function-app", "f", "--admin", "admin-1", "--admin", "admin-2")
    assert again.returncode == 0, again.stderr
    app = az.state()["app"]
    assert [r["id"] for r in app["appRoles"] if r["value"] == ADMIN_ROLE] == [first_role["id"]]
    assert {r["value"] for r in app["appRoles"]} == {ADMIN_ROLE, "Reports.Reader"}
    assert len(app["api"]["oauth2PermissionScopes"]) == 1
    assert sorted(a["principalId"] for a in az.state()["assignments"]) == ["admin-1", "admin-2"]
    assert "reusing app registration" in again.stderr


def test_without_the_function_app_name_it_stops_and_says_what_to_give(az):
    done = az()
    assert done.returncode == 2 and "--function-app" in done.stderr
    assert az.state()["calls"] == []
