"""How long `dental generate` takes: simulate a practice of about `--rows` rows, bulk-load it
into MariaDB, and report generate / load seconds and rows per second.

Run: `python benchmarks/generate.py --rows 1000000` (default) or `--rows 17800000` (the size of
the real practice database). Writes benchmarks/results/generate.json (one entry per row target).
The scratch database (default `gen_bench`) is replaced on every run and dropped afterwards
unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dental_etl.mysql import connect, quote_ident
from dental_etl.settings import MySQLSource
from dental_etl.synthetic import GeneratorConfig, generate_practice, write_to_mariadb

RESULTS = Path(__file__).parent / "results" / "generate.json"
BIG_TABLES = ("securitylog", "paysplit", "commlog", "procedurelog", "payment", "adjustment", "claimproc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="target total rows (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument(
        "--server",
        default="mysql://root@127.0.0.1:3306/gen_bench",
        help="MariaDB URL; its database is replaced (default mysql://root@127.0.0.1:3306/gen_bench)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    source = MySQLSource.from_url(args.server)
    console = Console()

    config = GeneratorConfig.for_rows(args.rows, seed=args.seed, today=args.today)
    started = time.perf_counter()
    practice = generate_practice(config)
    generated = time.perf_counter() - started
    rss_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    write_to_mariadb(practice, source, replace=True)
    loaded = time.perf_counter() - started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = practice.row_count
    sizes = {name: frame.height for name, frame in practice.tables.items()}
    if not args.keep:
        with connect(source, database=False) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(source.database)}")

    result = {
        "target_rows": args.rows,
        "rows": rows,
        "patients": config.patients,
        "generate_s": round(generated, 1),
        "load_s": round(loaded, 1),
        "rows_per_s": round(rows / (generated + loaded)),
        "generate_rows_per_s": round(rows / generated),
        "load_rows_per_s": round(rows / loaded),
        "peak_rss_mb": round(rss_peak),
        "rss_after_generate_mb": round(rss_generate),
        "big_tables": {name: sizes[name] for name in BIG_TABLES},
    }
    table = Table(
        "rows",
        "patients",
        "generate s",
        "load s",
        "rows/s",
        "peak RSS MB",
        title=f"dental generate -> {source.display}",
    )
    table.add_row(
        f"{rows:,}",
        f"{config.patients:,}",
        f"{generated:.1f}",
        f"{loaded:.1f}",
        f"{result['rows_per_s']:,}",
        f"{rss_peak:,.0f}",
    )
    console.print(table)
    sizes_table = Table("table", "rows", title="largest tables")
    for name, count in sorted(sizes.items(), key=lambda kv: -kv[1])[:10]:
        sizes_table.add_row(name, f"{count:,}")
    console.print(sizes_table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[str(args.rows)] = result
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")


if __name__ == "__main__":
    main()
