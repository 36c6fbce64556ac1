"""`chargeback run-month`, `invoices list|get` and `serve`."""
from __future__ import annotations

import sys
import time

from chargeback.months import parse_month
from chargeback.storage.documents import INVOICES
from chargeback.wiring import services
from devhost import local_stack
from devhost.output import print_json, table


def run_month(args) -> int:
    from devhost.local_host import LocalHost
    month = parse_month(args.month)
    local_stack.ensure_storage()
    with LocalHost() as host:
        status = host.run_month(month, timeout=args.timeout)
    if args.json:
        print_json(status)
        return 0 if status["runtimeStatus"] == "Completed" else 1
    if status["runtimeStatus"] != "Completed":
        print(f"invoicing {month} {status['runtimeStatus'].lower()}: {status.get('output')}", file=sys.stderr)
        return 1
    print_run(status["output"])
    return 0


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
                    print(f"    failed: {delivery.get('department')} by {delivery.get('channel')}: {delivery.get('error')}")
    for warning in result["warnings"]:
        print(f"  warning: {warning}")
    for kind, path in result.get("documents", {}).items():
        print(f"  {kind.replace('_', ' ')}: {path}")


def _money(text: str) -> str:
    from decimal import Decimal
    return f"{Decimal(text):,}"


def invoices(args) -> int:
    month = parse_month(args.month)
    local_stack.ensure_storage()
    s = services()
    if args.action == "list":
        entries = s.invoice_index.month(month)
        if args.json:
            print_json([e.as_dict() for e in entries])
        elif not entries:
            print(f"no invoices for {month} yet: chargeback run-month {month}")
        else:
            print(table(["department", "name", "total", "currency", "version", "blob"],
                        [[e.department, e.name, e.total, e.currency, e.version, e.blob] for e in entries]))
        return 0
    if not args.department or not args.output:
        print("chargeback invoices get: give MONTH DEPARTMENT -o FILE", file=sys.stderr)
        return 2
    entry = s.invoice_index.latest(month, args.department)
    if entry is None:
        print(f"no invoice for {args.department} in {month}", file=sys.stderr)
        return 1
    data = s.documents.get(INVOICES, entry.blob)
    args.output.write_bytes(data)
    print(f"wrote {entry.invoice_number} (version {entry.version}, {entry.total} {entry.currency}) to {args.output}")
    return 0


def serve(args) -> int:
    import os

    from devhost.http_host import make_server, serve_in_thread
    from devhost.local_host import LocalHost
    local_stack.ensure_storage()
    if args.dev_auth:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print("chargeback serve: --dev-auth trusts X-MS-CLIENT-PRINCIPAL; it only binds to loopback", file=sys.stderr)
            return 2
        os.environ["CHARGEBACK_LOCAL_AUTH"] = "loopback"
    from chargeback.wiring import reset_services
    reset_services()
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
    server = make_server(front, args.host, args.port)
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
