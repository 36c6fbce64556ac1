"""A large month on this machine: generate N events, ingest them (streamed from the file) and invoice them,
each step in its own process under ``/usr/bin/time -v`` (wall time, peak RSS), on a private Azurite.

``python -m devhost.bench_million 1000000 100000`` runs each size and prints JSON, including
``ingest_peak_rss_1m_vs_100k_ratio`` (the ingest's peak RSS at the first size over the second): too slow
for the default `chargeback bench`. Rerunning a step is the resume: ingest is idempotent upserts.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devhost.azurite import Azurite
from devhost.functions import ROOT

CLI = [sys.executable, "-m", "devhost.cli"]
MONTH = "2026-10"


def timed(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``command`` under /usr/bin/time -v; its wall seconds and peak RSS in MiB (output to ``log``)."""
    with open(log, "w") as out:
        done = subprocess.run(["/usr/bin/time", "-v", *command], env=env, stdout=out, stderr=subprocess.STDOUT,
                              check=False, cwd=ROOT)
    text = log.read_text()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}); see {log}")
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if wall is None or rss is None:
        raise RuntimeError(f"no /usr/bin/time -v figures in {log}")
    hours, minutes, seconds = int(wall[1] or 0), int(wall[2]), float(wall[3])
    return {"wall_s": round(hours * 3600 + minutes * 60 + seconds, 1), "peak_rss_mib": round(int(rss[1]) / 1024, 1)}


def invoice_table(log: Path) -> list[str]:
    """The invoice table run-month printed: the lines from its header to the grand total."""
    lines = log.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("department "))
    end = next(i for i, line in enumerate(lines) if line.startswith("grand total"))
    return lines[start:end + 1]


def killed_ingest(command: list[str], env: dict[str, str], after: float, log: Path) -> None:
    """Start the ingest and kill it (SIGKILL: no clean-up) after ``after`` seconds."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            process.wait(after)
            raise RuntimeError(f"the ingest finished within {after:.0f} s, before it could be killed")
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def one_size(events: int, work: Path, resume_check: bool = False) -> dict[str, object]:
    events_file, config_file = work / f"events-{events}.jsonl", work / f"config-{events}.yaml"
    env = {"PYTHONPATH": str(ROOT)}   # the child sees only what the run sets (settings read the environment)
    started = time.perf_counter()
    subprocess.run([*CLI, "generate", "--month", MONTH, "--events", str(events), "--departments", "20",
                    "--bad-events", "0", "-o", str(events_file), "--config-out", str(config_file)],
                   env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    generated = round(time.perf_counter() - started, 1)
    result: dict[str, object] = {"events": events, "generate_wall_s": generated}
    with Azurite(ROOT) as emulator:
        env = {**env, "CHARGEBACK_STORAGE": emulator.connection_string, "CHARGEBACK_TABLE_PREFIX": f"m{events}"}
        subprocess.run([*CLI, "config", "import", str(config_file)], env=env, check=True, stdout=subprocess.DEVNULL,
                       cwd=ROOT)
        ingest = [*CLI, "ingest", str(events_file)]
        result["ingest"] = timed(ingest, env, work / f"ingest-{events}.log")
        result["run_month"] = timed([*CLI, "run-month", MONTH, "--timeout", "3600"], env,
                                    work / f"run-month-{events}.log")
        if resume_check:
            result["resume"] = resumed(events, work, {**env, "CHARGEBACK_TABLE_PREFIX": f"k{events}"}, ingest,
                                       config_file, float(result["ingest"]["wall_s"]))   # type: ignore[index]
    return result


def stored(env: dict[str, str]) -> int:
    """Usage records stored in the tables of ``env`` (each record once)."""
    from chargeback.settings import Settings
    from chargeback.storage.account import StorageAccount
    from chargeback.storage.usage_table import UsageStore
    return UsageStore(StorageAccount(Settings.from_env(env))).count(MONTH)


def resumed(events: int, work: Path, env: dict[str, str], ingest: list[str], config_file: Path,
            clean_wall: float) -> dict[str, object]:
    """Ingest into fresh tables, killed half-way; rerun; invoice; the same invoice table as the clean run."""
    subprocess.run([*CLI, "config", "import", str(config_file)], env=env, check=True, stdout=subprocess.DEVNULL,
                   cwd=ROOT)
    killed_ingest(ingest, env, clean_wall / 2, work / f"ingest-killed-{events}.log")
    stored_when_killed = stored(env)
    rerun = timed(ingest, env, work / f"ingest-rerun-{events}.log")
    month = timed([*CLI, "run-month", MONTH, "--timeout", "3600"], env, work / f"run-month-resumed-{events}.log")
    clean, again = (invoice_table(work / name) for name in (f"run-month-{events}.log",
                                                             f"run-month-resumed-{events}.log"))
    return {"killed_after_s": round(clean_wall / 2, 1), "stored_when_killed": stored_when_killed,
            "stored_after_rerun": stored(env), "rerun_ingest": rerun, "run_month": month,
            "invoice_table_identical": clean == again, "grand_total": again[-1]}


def main(sizes: list[int], resume_check: bool = False) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="chargeback-million-"))
    results = {str(n): one_size(n, work, resume_check=resume_check and n == min(sizes)) for n in sorted(sizes)}
    out: dict[str, object] = {"sizes": results, "logs": str(work)}
    if len(sizes) == 2:
        big, small = (results[str(n)]["ingest"] for n in sorted(sizes, reverse=True))   # type: ignore[index]
        out["ingest_peak_rss_1m_vs_100k_ratio"] = round(big["peak_rss_mib"] / small["peak_rss_mib"], 3)
    return out


if __name__ == "__main__":
    arguments = sys.argv[1:]
    print(json.dumps(main([int(a) for a in arguments if a != "--resume-check"] or [100_000, 1_000_000],
                          resume_check="--resume-check" in arguments), indent=2), flush=True)
