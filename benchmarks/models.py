"""How long the SQLMesh models take: a full build over a synthetic OpenDental practice, then an
incremental run after about 1% of the rows changed, on DuckDB and on PostgreSQL.

Pipeline, per warehouse: generate the practice (`--rows`, default 1,000,000) into MariaDB ->
`dental sync` (full) -> **full build** (`run_transform` on an empty project: plan + backfill of
every model) -> a run with no new data (SQLMesh's fixed cost) -> `apply_changes` (~1% of rows:
inserts, edits, hard deletes; `--change-percent` for another share) -> `dental sync` (incremental)
-> **incremental run** (`run_transform`). Target: the incremental run under 10% of the full build.
Then the next day, as a nightly job sees it: another ~1% change dated a day later, a sync, and a
**next-day run** with the run date moved on by a day (every family with a balance is aged as of
the new date, and the run-date-dependent models see a new today).

Run: `python benchmarks/models.py` (`--rows 17800000` for the real practice's size,
`--gateways duckdb` for one engine; `--reuse --server mysql://root@127.0.0.1:3306/sync_bench`
takes the sync benchmark's source as it is instead of generating one). Writes
benchmarks/results/models.json. Scratch databases (`md_bench*` in MariaDB and PostgreSQL,
`data/md_bench/` for DuckDB) are replaced on each run and dropped afterwards unless `--keep`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import msgspec
import psycopg
from rich.console import Console
from rich.table import Table

from dental_etl.mysql import connect, quote_ident
from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings, load_settings
from dental_etl.sync.runner import run_sync
from dental_etl.synthetic import GeneratorConfig, apply_changes, generate_practice, write_to_mariadb
from dental_etl.transform.runner import TransformSummary, run_transform

PROJECT_DIR = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "models.json"


def _settings(source: MySQLSource, gateway: str, pg_url: str) -> Settings:
    base = load_settings(PROJECT_DIR)
    if gateway == "duckdb":
        folder = PROJECT_DIR / "data" / "md_bench"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        warehouse: DuckDBWarehouse | PostgresWarehouse = DuckDBWarehouse(
            database=str(folder / "warehouse.duckdb")
        )
    else:
        server = base.with_gateway("postgres").warehouse
        assert isinstance(server, PostgresWarehouse)
        warehouse = msgspec.structs.replace(server, database="md_bench")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "md_bench" WITH (FORCE)')
            conn.execute('CREATE DATABASE "md_bench"')
    return msgspec.structs.replace(base, source=source, gateway=gateway, warehouse=warehouse)


def _drop(settings: Settings, pg_url: str) -> None:
    if settings.gateway == "duckdb":
        shutil.rmtree(Path(settings.warehouse.database).parent, ignore_errors=True)  # type: ignore[union-attr]
    else:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "md_bench" WITH (FORCE)')


def _source_rows(source: MySQLSource) -> int:
    """Rows in the source database (0 when it does not exist)."""
    try:
        with connect(source) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (source.database,)
            )
            total = 0
            for (table,) in cur.fetchall():
                cur.execute(f"SELECT COUNT(*) FROM {quote_ident(table)}")
                total += cur.fetchone()[0]
            return total
    except Exception:
        return 0


def bench(gateway: str, args: argparse.Namespace, pg_url: str) -> dict[str, object]:
    source = MySQLSource.from_url(args.server)
    practice_rows = _source_rows(source) if args.reuse else 0
    if practice_rows < 0.9 * args.rows:
        config = GeneratorConfig.for_rows(args.rows, seed=args.seed, today=args.today)
        write_to_mariadb(generate_practice(config), source, replace=True)
        practice_rows = _source_rows(source)
    settings = _settings(source, gateway, pg_url)
    day = datetime.combine(args.today, datetime.min.time()) + timedelta(hours=9)
    started = time.perf_counter()
    full_sync = run_sync(settings)
    sync_s = time.perf_counter() - started
    assert not full_sync.failed, [r.error for r in full_sync.tables if r.error]

    started = time.perf_counter()
    full = run_transform(settings, execution_time=day)
    full_wall_s = time.perf_counter() - started
    noop = run_transform(settings, execution_time=day + timedelta(minutes=5))
    changed_target = max(1, int(practice_rows * args.change_percent / 100))
    changes = apply_changes(source, changed_target, seed=args.seed, today=args.today)
    started = time.perf_counter()
    inc_sync = run_sync(settings)
    inc_sync_s = time.perf_counter() - started
    assert not inc_sync.failed
    started = time.perf_counter()
    incremental = run_transform(settings, execution_time=day + timedelta(minutes=10))
    inc_wall_s = time.perf_counter() - started
    tomorrow = args.today + timedelta(days=1)
    next_changes = apply_changes(source, changed_target, seed=args.seed + 1, today=tomorrow)
    next_sync = run_sync(settings)
    assert not next_sync.failed
    next_day = run_transform(settings, execution_time=day + timedelta(days=1))
    if not args.keep:
        _drop(settings, pg_url)

    def total(summary: TransformSummary) -> float:
        """What a `dental transform` costs, SQLMesh's loading included (Python's start-up not)."""
        return summary.load_seconds + summary.plan_seconds + summary.run_seconds

    full_s = total(full)
    inc_s = total(incremental)
    return {
        "gateway": gateway,
        "rows": practice_rows,
        "changed_rows": changes.total,
        "sync_full_s": round(sync_s, 1),
        "sync_incremental_s": round(inc_sync_s, 1),
        "full_build_s": round(full_s, 1),
        "full_models": full.models_backfilled + full.models_run,
        "noop_run_s": round(total(noop), 1),
        "incremental_run_s": round(inc_s, 1),
        "incremental_load_s": incremental.load_seconds,
        "incremental_planned": incremental.planned,
        "incremental_tables_changed": len(incremental.tables_changed),
        "incremental_models_run": incremental.models_run,
        "noop_models_run": noop.models_run,
        "incremental_over_full": round(inc_s / full_s, 3),
        "next_day_changed_rows": next_changes.total,
        "next_day_run_s": round(total(next_day), 1),
        "next_day_models_run": next_day.models_run,
        "next_day_over_full": round(total(next_day) / full_s, 3),
        "next_day_slowest_models_s": dict(list(next_day.model_seconds.items())[:12]),
        # the whole call, as `dental transform` costs it: also the warehouse check before SQLMesh
        # loads and closing the connection after (DuckDB writes its checkpoint then)
        "full_wall_s": round(full_wall_s, 1),
        "incremental_wall_s": round(inc_wall_s, 1),
        "wall_incremental_over_full": round(inc_wall_s / full_wall_s, 3),
        "full_slowest_models_s": dict(list(full.model_seconds.items())[:12]),
        "incremental_slowest_models_s": dict(list(incremental.model_seconds.items())[:12]),
        "incremental_models_s": round(sum(incremental.model_seconds.values()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="target total rows (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--gateways", default="duckdb,postgres", help="comma-separated: duckdb, postgres")
    parser.add_argument(
        "--server",
        default="mysql://root@127.0.0.1:3306/md_bench_src",
        help="MariaDB URL of the scratch source database (replaced)",
    )
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL admin URL"
    )
    parser.add_argument(
        "--change-percent",
        type=float,
        default=1.0,
        help="share of the rows the change touches before the incremental run (default 1, as targeted)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the source database as it is when it has about --rows rows (e.g. the sync benchmark's)",
    )
    args = parser.parse_args()
    console = Console()

    results = [bench(g.strip(), args, args.pg) for g in args.gateways.split(",") if g.strip()]
    rows = int(results[0]["rows"]) if results else 0  # type: ignore[call-overload]
    if not args.keep and not args.reuse:  # a reused source belongs to whoever made it
        source = MySQLSource.from_url(args.server)
        with connect(source, database=False) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_ident(source.database)}")

    table = Table(
        "warehouse",
        "rows",
        "changed",
        "full build s",
        "no-op run s",
        "incremental run s",
        "incr / full",
        "next-day run s",
        "whole call: incr / full s",
        "sync full s",
        "sync incr s",
        title=f"SQLMesh models over the synthetic OpenDental ({rows:,} rows)",
    )
    for r in results:
        table.add_row(
            str(r["gateway"]),
            f"{r['rows']:,}",
            f"{r['changed_rows']:,}",
            f"{r['full_build_s']}",
            f"{r['noop_run_s']}",
            f"{r['incremental_run_s']}",
            f"{100 * float(r['incremental_over_full']):.0f}%",  # type: ignore[arg-type]
            f"{r['next_day_run_s']} ({100 * float(r['next_day_over_full']):.0f}%)",  # type: ignore[arg-type]
            f"{r['incremental_wall_s']} / {r['full_wall_s']}",
            f"{r['sync_full_s']}",
            f"{r['sync_incremental_s']}",
        )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[str(args.rows) if args.change_percent == 1.0 else f"{args.rows}@{args.change_percent}%"] = {
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "results": results,
    }
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")


if __name__ == "__main__":
    main()
