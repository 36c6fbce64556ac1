"""`chargeback demo`: the main job end to end on generated data, on the local stack (what `make run` runs)."""
from __future__ import annotations

import sys
from argparse import Namespace
from contextlib import redirect_stdout
from pathlib import Path

from chargeback.storage.documents import EXPORTS, INVOICES
from chargeback.wiring import configure, services
from devhost import commands
from devhost.config_commands import config
from devhost.invoice_commands import print_run
from devhost.output import print_json, snake_keys


def demo(args) -> int:
    """The walk-through on stdout; with --json it goes to stderr and stdout gets the run's summary."""
    if not getattr(args, "json", False):
        return _walk_through(args)[0]
    with redirect_stdout(sys.stderr):
        code, summary = _walk_through(args)
    print_json(snake_keys(summary))
    return code


def _walk_through(args) -> tuple[int, dict]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    events_file, config_file = out / f"usage-{args.month}.jsonl", out / "config.yaml"
    print(f"== 1. generate {args.month}: {args.events:,} usage events from {args.departments} departments")
    commands.generate(Namespace(output=events_file, config_out=config_file, month=args.month,
                                departments=args.departments, events=args.events, format="v2", seed=args.seed,
                                bad_events=None, json=False))
    print(f"\n== 2. storage: {commands.use_storage()}")
    print("\n== 3. import the config (validated whole before anything is stored)")
    config(Namespace(action="import", file_or_key=str(config_file), json=False))
    print("\n== 4. ingest through the Event Hub trigger (again and again: redelivery rewrites the same rows)")
    commands.ingest(Namespace(file=events_file, batch=500, json=False))
    print(f"\n== 5. the monthly invoicing orchestration for {args.month}, through the local host")
    print(f"   (notices go by email to a local outbox: {out / 'outbox'}/*.eml)")
    from devhost.local_host import LocalHost
    from devhost.outbox import LocalOutbox
    box = LocalOutbox(out / "outbox")
    smtp_host, smtp_port = box.start()
    try:
        configure(smtp_host=smtp_host, smtp_port=smtp_port)
        with LocalHost() as host:
            status = host.run_month(args.month)
    finally:
        box.stop()
    if status["runtimeStatus"] != "Completed":
        print(f"the run {status['runtimeStatus'].lower()}: {status.get('output')}")
        return 1, {"month": args.month, "run": status}
    result = status["output"]
    print_run(result)
    print(f"\n== 6. documents copied to {out}/")
    copied = copy_documents(result, out)
    for path in copied:
        print(f"  {path}")
    print(f"  {len(box.files())} notice(s) in {out / 'outbox'}/ (open them with any mail program)")
    print("\nNext:")
    print("  open the owners' portal:  chargeback serve --as <owner email from out/config.yaml>  "
          "then http://127.0.0.1:7071/api/portal")
    print(f"  rerun the month:          chargeback run-month {args.month}   "
          "(nothing changed: same versions, no notices)")
    print("  stop the local Azurite:   chargeback stack down")
    return 0, {"month": args.month, "run": result, "files": [str(p) for p in copied],
               "notices": len(box.files())}


def copy_documents(result: dict, out: Path) -> list[Path]:
    """Every workbook of the run, the finance summary and the FOCUS export, from Blob Storage to ``out``."""
    documents = services().documents
    month, written = result["month"], []
    target = out / "invoices" / month
    target.mkdir(parents=True, exist_ok=True)
    for invoice in result["invoices"]:
        path = target / Path(invoice["blob"]).name
        path.write_bytes(documents.get(INVOICES, invoice["blob"]))
        written.append(path)
    for location in result.get("documents", {}).values():
        container, name = location.split("/", 1)
        path = out / f"{Path(name).stem}-{month}{Path(name).suffix}"
        path.write_bytes(documents.get({"invoices": INVOICES, "exports": EXPORTS}[container], name))
        written.append(path)
    return written
