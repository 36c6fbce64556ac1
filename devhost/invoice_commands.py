"""`chargeback run-month`, `invoices list|get` and `serve`."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path, PurePosixPath

from chargeback.config.model import UNALLOCATED
from chargeback.errors import ChargebackError, InvalidDepartment, StorageUnavailable
from chargeback.months import parse_month
from chargeback.storage.documents import INVOICES
from chargeback.wiring import services
from devhost.commands import use_storage
from devhost.output import print_json, say, shows_progress, snake_keys, table


class PortUnavailable(ChargebackError):
    """serve cannot listen where it was asked to."""


class NothingToFollow(ChargebackError):
    """run-month --follow of a month nobody started."""


class NoConfig(ChargebackError):
    """Invoicing asked for before any configuration was imported."""


def run_month(args) -> int:
    from devhost.local_host import LocalHost
    month = parse_month(args.month)
    use_storage()
    if not services().settings.storage_connection:
        raise StorageUnavailable("run-month runs the orchestration on this machine, which needs a storage "
                                 "connection string; for a deployed app start the run there: "
                                 f"POST https://<functionAppHostName>/api/invoices/{month}/run "
                                 "(infra/README.md, 'Running a month as an admin')")
    if services().config.current() is None:
        raise NoConfig("no configuration imported yet: chargeback config import FILE (docs/config.md)")
    with LocalHost() as host:
        status = snake_keys(_follow(host, month, args, show=shows_progress(args.json)))
    if args.json:
        print_json(status)
        return 0 if status["runtime_status"] == "Completed" else 1
    if status["runtime_status"] != "Completed":
        print(f"invoicing {month} {status['runtime_status'].lower()}: {status.get('output')}", file=sys.stderr)
        return 1
    print_run(status["output"])
    return 0


def _follow(host, month: str, args, show: bool) -> dict:
    """Run the month (resuming one a killed command left; ``--restart``: over again, ``--follow``: the run
    another command holds); on a terminal, print each stage and partition count its custom status reports."""
    if show:
        host.durable.store = _StatusWatcher(host.durable.store, _StageLines())
    if getattr(args, "follow", False):
        from devhost.durable import InstanceNotFound
        try:
            return host.follow(month, args.timeout)
        except InstanceNotFound:
            raise NothingToFollow(f"no run of {month} to follow: chargeback run-month {month} starts one") from None
    instance = host.start_month(month, restart=getattr(args, "restart", False))
    if host.resumed:
        say(f"resuming the run of {month} that a stopped command left unfinished (--restart starts it over)")
    return host.durable.wait_for_completion(instance, args.timeout)


class _StatusWatcher:
    """The engine's instance store, seeing every saved status (polling would miss short stages)."""

    def __init__(self, store, on_status):
        self._store, self._on_status = store, on_status

    def save(self, record) -> None:
        self._store.save(record)
        if record.custom_status_json:
            self._on_status(json.loads(record.custom_status_json))

    def __getattr__(self, name: str):
        return getattr(self._store, name)


class _StageLines:
    def __init__(self):
        self.last = ""

    def __call__(self, custom: dict) -> None:
        line = _stage_line(custom)
        if line and line != self.last:
            say(f"  {line}")
            self.last = line


def _stage_line(custom: dict) -> str:
    stage = custom.get("stage")
    if not stage:
        return ""
    if "partitions_total" in custom:
        return f"{stage}: {custom.get('partitions_done', 0)}/{custom['partitions_total']} partitions"
    if "departments" in custom:
        return f"{stage}: {custom['departments']} departments"
    return str(stage)


def print_run(result: dict) -> None:
    print(f"Invoicing {result['month']} (run {result['run_id']}): {result['records']:,} usage records in "
          f"{result['partitions']} partitions, config {result['config_fingerprint'][:19]}…")
    rows = [[i["department"], i["name"], _money(i["total"]), i["currency"], i["version"],
             "revised" if i["revision"] and i["changed"] else ("unchanged" if not i["changed"] else "new"),
             i["blob"]] for i in result["invoices"]]
    print(table(["department", "name", "total", "currency", "version", "status", "workbook"], rows, right={2, 4}))
    print(f"grand total {_money(result['grand_total'])} {result['currency']}")
    notices = result.get("notices") or {}
    if notices:
        if "error" in notices:
            print(f"  notices: could not be sent: {notices['error']}")
        else:
            print(f"  notices: {notices.get('sent', 0)} sent, {notices.get('already_sent', 0)} already sent, "
                  f"{notices.get('failed', 0)} failed")
            for delivery in notices.get("deliveries", []):
                if delivery.get("status") == "failed":
                    print(f"    failed: {delivery.get('department')} by {delivery.get('channel')}: "
                          f"{delivery.get('error')}")
    for warning in result["warnings"]:
        print(f"  warning: {warning}")
    for kind, path in result.get("documents", {}).items():
        print(f"  {kind.replace('_', ' ')}: {path}")


def _money(text: str) -> str:
    from decimal import Decimal
    return f"{Decimal(text):,}"


def invoices(args) -> int:
    month = parse_month(args.month)
    use_storage()
    s = services()
    department = known_department(args.department) if args.department else None
    if args.action == "list":
        entries = [e for e in s.invoice_index.month(month) if department in (None, e.department)]
        if args.json:
            print_json([snake_keys(e.as_dict()) for e in entries])
        elif not entries:
            print(f"no invoices for {department + ' in ' if department else ''}{month} yet: "
                  f"chargeback run-month {month}")
        else:
            print(table(["department", "name", "total", "currency", "version", "blob"],
                        [[e.department, e.name, e.total, e.currency, e.version, e.blob] for e in entries]))
        return 0
    if not department:
        print("chargeback invoices get: give MONTH DEPARTMENT [-o FILE]", file=sys.stderr)
        return 2
    entry = s.invoice_index.latest(month, department)
    if entry is None:
        print(f"no invoice for {department} in {month}", file=sys.stderr)
        return 1
    data = s.documents.get(INVOICES, entry.blob)
    if data is None:
        raise StorageUnavailable(f"workbook {entry.blob} is indexed but missing")
    target = args.output or Path(PurePosixPath(entry.blob).name)   # the workbook's own name, here
    target.write_bytes(data)
    if args.json:
        print_json({"file": str(target), **snake_keys(entry.as_dict())})
    else:
        print(f"wrote {entry.invoice_number} (version {entry.version}, {entry.total} {entry.currency}) to {target}")
    return 0


def known_department(given: str) -> str:
    """The department id as configured (ids are lower case; the command line takes any case), else an error
    listing the known ones."""
    wanted = given.strip().lower()
    config = services().config.current()
    known = sorted({d.id for d in config.departments} | {UNALLOCATED}) if config else []
    if known and wanted not in known:
        raise InvalidDepartment(f"unknown department {given!r}; known: {', '.join(known)}")
    return wanted


def serve(args) -> int:
    from devhost.http_host import make_server, serve_in_thread
    from devhost.local_host import LocalHost
    use_storage()
    if not services().settings.storage_connection:
        raise StorageUnavailable("serve runs the HTTP functions on this machine and needs a storage connection "
                                 "string; a deployed app serves them itself (infra/README.md)")
    if args.dev_auth:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print("chargeback serve: --dev-auth trusts X-MS-CLIENT-PRINCIPAL; it only binds to loopback",
                  file=sys.stderr)
            return 2
        from chargeback.wiring import configure
        configure(local_auth="loopback")
    host = LocalHost()
    resumed = host.resume_unfinished()
    front = host.http
    if args.signed_in_as:
        if not args.dev_auth:
            print("chargeback serve: --as needs the development mode (--dev-auth)", file=sys.stderr)
            return 2
        from chargeback.owners.identity import ADMIN_ROLE
        from devhost.dev_signin import SignedInAs
        front = SignedInAs(host.http, args.signed_in_as, (ADMIN_ROLE,) if args.admin else ())
    try:
        server = make_server(front, args.host, args.port)
    except OSError as exc:   # EADDRINUSE, EACCES (a port below 1024), an unknown host
        host.close()
        raise PortUnavailable(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
                              "choose another with --port N (0 picks a free one)") from None
    base = f"http://{args.host}:{server.server_address[1]}"
    trust = "trusted: local development mode" if args.dev_auth else "not trusted: every request is 401"
    print(f"serving the HTTP functions on {base}/api/ (identity header {trust})", flush=True)
    if args.signed_in_as:
        print(f"signed in as {args.signed_in_as}{' (admin)' if args.admin else ''}: open {base}/api/portal", flush=True)
    if resumed:
        print(f"resumed unfinished runs: {', '.join(resumed)}", flush=True)
    serve_in_thread(server)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        host.close()
    return 0
