"""Peak memory of `actuals import`: a small and a large generated FOCUS export, each read in a fresh process.

    python -m devhost.bench_actuals --rows 1000000 --padding 600 --dir /tmp/actuals-bench

Memory stays flat when the large file's peak RSS is about the small one's (the reader holds one row and
one running total per meter, whatever the file's size). Prints JSON; the files are left in --dir.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from devhost.generate.cost_export import AOAI_RESOURCE, write_focus_month

_CHILD = """
import resource, sys, time
from chargeback.actuals.mapping import read_month_actuals
from chargeback.config.loading import parse_config
config = parse_config(open(sys.argv[2], encoding="utf-8").read())
start = time.perf_counter()
with open(sys.argv[1], "rb") as stream:
    month = read_month_actuals(stream, sys.argv[1], "2026-10", config)
seconds = time.perf_counter() - start
print(month.rows_read, month.rows_kept, month.total_cost, round(seconds, 1),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

CONFIG = f"""
currency: USD
departments: [{{id: marketing, subscriptions: [sub-mkt]}}]
actuals:
  resources: ["{AOAI_RESOURCE}"]
  meters:
    "gpt 4o 0806 Inp glbl Tokens": {{deployment: gpt-4o, meter: input}}
    "gpt 4o 0806 cached Inp glbl Tokens": {{deployment: gpt-4o, meter: cached_input}}
    "gpt 4o 0806 Outp glbl Tokens": {{deployment: gpt-4o, meter: output}}
"""


def measure(path: Path, config: Path) -> dict[str, object]:
    """Import ``path`` in a new interpreter; its row counts, total, seconds and peak RSS (KiB, Linux)."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(config)], check=True,
                         capture_output=True, text=True).stdout.split()
    return {"file": path.name, "bytes": path.stat().st_size, "rows_read": int(out[0]), "rows_kept": int(out[1]),
            "total_cost": out[2], "seconds": float(out[3]), "peak_rss_kib": int(out[4])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large file (default 1,000,000)")
    parser.add_argument("--padding", type=int, default=600, help="tag characters per row (default 600: ~1 KB rows)")
    parser.add_argument("--dir", type=Path, default=Path("out/bench-actuals"), help="where the files go")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    config = args.dir / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    results = []
    for name, rows in (("small", 1_000), ("large", args.rows)):
        path = args.dir / f"focus-2026-10-{name}.csv"
        started = time.perf_counter()
        write_focus_month(path, "2026-10", rows=rows, padding=args.padding)
        results.append({"generated_seconds": round(time.perf_counter() - started, 1), **measure(path, config)})
    small, large = results
    print(json.dumps({"small": small, "large": large,
                      "rss_ratio_large_to_small": round(large["peak_rss_kib"] / small["peak_rss_kib"], 2)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
