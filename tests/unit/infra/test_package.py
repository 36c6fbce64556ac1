"""`make package`: exactly what Azure runs, and azure-functions-doctor finds no failure in it."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RUNTIME_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "http_answers.py",
                     "activities", "chargeback", "ingest", "orchestrations", "reports"}
DOCTOR = Path(sys.executable).parent / "azure-functions-doctor"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """`make package`'s script, run as make runs it; the zip unpacked into a folder."""
    target = tmp_path_factory.mktemp("package") / "package.zip"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), str(target)], check=True,
                   capture_output=True, cwd=ROOT)
    unpacked = target.parent / "app"
    with zipfile.ZipFile(target) as archive:
        archive.extractall(unpacked)
    return unpacked


def _names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_package_holds_the_runtime_files_and_nothing_dev_only(package):
    names = _names(package)
    assert {n.split("/")[0] for n in names} == RUNTIME_TOP_LEVEL
    assert {"function_app.py", "host.json", "requirements.txt", "ingest/__init__.py",
            "reports/__init__.py", "chargeback/wiring.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in "/" + n]
    # every Python file of the runtime packages is there (none lost to a pattern too broad)
    tracked = subprocess.run(["git", "ls-files", "chargeback", "ingest", "reports", "orchestrations",
                              "activities"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert {n for n in tracked if n.endswith(".py") and (ROOT / n).exists()} <= set(names)


def test_requirements_in_the_package_are_the_pinned_runtime_set(package):
    lines = [line for line in (package / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][\w.]*", line) for line in lines)
    assert not [line for line in lines if line.split("==")[0].lower() in
                ("pytest", "hypothesis", "rich", "azure-functions-doctor", "ruff", "mypy")]


def _runtime_distributions(package: Path) -> set[str]:
    """The requirements and everything they depend on on this Python, transitively (installed metadata)."""
    from packaging.requirements import Requirement
    wanted = [Requirement(line) for line in (package / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for extra in sorted(requirement.extras) or [""]:
            for dependency in map(Requirement, distribution(name).requires or []):
                if dependency.marker is None or dependency.marker.evaluate({"extra": extra}):
                    wanted.append(dependency)
    return seen


def test_function_app_imports_only_the_package_and_runtime_dependencies(package):
    """Imported in a fresh interpreter that sees only the package and site-packages (not this checkout)."""
    site = sysconfig.get_paths()["purelib"]
    probe = ("import json, sys; import function_app; print(json.dumps({n: getattr(m, '__file__', None) "
             "for n, m in list(sys.modules.items()) if '.' not in n}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CHARGEBACK_"))}
    done = subprocess.run([sys.executable, "-S", "-c", probe], check=False, cwd=package, capture_output=True,
                          text=True, env={**env, "PYTHONPATH": f"{package}{os.pathsep}{site}"}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded: dict[str, str | None] = json.loads(done.stdout.splitlines()[-1])
    from_site = {name for name, file in loaded.items() if file and file.startswith(site)}
    checkout = {n for n, file in loaded.items() if file and file.startswith(str(ROOT)) and n not in from_site}
    assert checkout == set()   # nothing came from this checkout: the package alone
    provided, runtime = packages_distributions(), _runtime_distributions(package)
    outside = sorted(m for m in from_site if not {d.lower().replace("_", "-") for d in provided.get(m, [])} & runtime)
    assert outside == []
    assert len(from_site) > 10 and {"openpyxl", "yaml"} <= from_site   # the probe saw the imports
    assert not set(loaded) & {"devhost", "tests", "pytest", "hypothesis", "rich", "aiosmtpd"}


def _doctor_failures(path: Path) -> list[str]:
    done = subprocess.run([str(DOCTOR), "doctor", "--path", str(path), "--format", "json",
                           "--hosting-plan", "flex-consumption"], check=False, capture_output=True, text=True,
                          timeout=300)
    report = json.loads(done.stdout)
    items = [i for group in report["results"] for i in group["items"]]
    assert len(items) > 20   # it did check something
    return [f"{i['rule_id']}: {i['value']}" for i in items if i["status"] in ("fail", "error")]


@pytest.fixture(scope="module")
def project_clone(tmp_path_factory) -> Path:
    """The project as a fresh clone has it (tracked files, working-tree content): no .venv, no node_modules,
    which the doctor would otherwise walk for a minute before excluding them."""
    clone = tmp_path_factory.mktemp("clone")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in tracked.stdout.splitlines():
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes((ROOT / name).read_bytes())
    (clone / ".funcignore").write_bytes((ROOT / ".funcignore").read_bytes())  # until it is committed
    return clone


def test_azure_functions_doctor_finds_no_failure_in_the_project(project_clone):
    assert _doctor_failures(project_clone) == []


def test_azure_functions_doctor_finds_no_failure_in_the_package(package):
    assert _doctor_failures(package) == []
