"""The transform runner's small decisions, without a warehouse."""

from __future__ import annotations

from dental_etl.transform.changes import applied_through, detection_sql, loader_verdicts, run_selection
from dental_etl.transform.runner import _touched


def test_only_tables_a_loader_run_committed_since_the_last_transform_are_asked_about() -> None:
    progress = {"patient": 7, "procedurelog": 9, "definition": 3}
    assert _touched(progress, synced_through=7) == {"procedurelog"}
    assert _touched(progress, synced_through=9) == set()
    # never transformed, no loader state (the demo writes raw itself), or state gone back in time
    assert _touched(progress, synced_through=None) is None
    assert _touched(None, synced_through=7) is None
    assert _touched(progress, synced_through=12) is None


def test_detection_asks_only_about_the_named_tables() -> None:
    sql = detection_sql(["procedurelog", "patient"])
    assert sql.count("UNION ALL") == 1 and "raw.procedurelog" in sql and "raw.claim " not in sql


def test_a_run_selects_changed_tables_downstream_and_the_dated_models() -> None:
    assert run_selection(["paysplit"], ["intermediate.int_recall"]) == [
        "raw.paysplit",
        "staging.stg_paysplit+",
        "intermediate.int_recall+",
    ]
    assert run_selection([], []) == []


def test_a_run_leaves_out_views_unless_they_hold_the_run_date() -> None:
    selection = run_selection(
        ["paysplit"],
        ["marts.fact_claim"],
        views=["marts.fact_payment", "marts.fact_claim", "marts.fact_ledger"],
    )
    everything = "(raw.paysplit | staging.stg_paysplit+ | marts.fact_claim+)"
    assert selection == [f"{everything} & ^(marts.fact_ledger | marts.fact_payment)"]
    assert run_selection([], [], views=["marts.fact_payment"]) == []


class _DuckAdapter:
    """The one method of SQLMesh's engine adapter that `loader_verdicts` uses."""

    def __init__(self) -> None:
        import duckdb

        self.conn = duckdb.connect()
        self.conn.execute("CREATE SCHEMA _dental")
        self.conn.execute("CREATE TABLE _dental.sync_runs (run_id BIGINT, status VARCHAR)")
        self.conn.execute(
            "CREATE TABLE _dental.sync_run_tables (run_id BIGINT, table_name VARCHAR, mode VARCHAR,"
            " status VARCHAR, rows_inserted BIGINT, rows_updated BIGINT, rows_deleted BIGINT)"
        )

    def fetchall(self, sql: str) -> list[tuple]:
        return self.conn.sql(sql).fetchall()


def test_the_loaders_figures_settle_incremental_tables_and_leave_reloads_to_counting() -> None:
    db = _DuckAdapter()
    db.conn.execute("INSERT INTO _dental.sync_runs VALUES (4, 'ok'), (5, 'ok'), (6, 'failed')")
    db.conn.execute(
        "INSERT INTO _dental.sync_run_tables VALUES"
        " (4, 'patient', 'incremental', 'ok', 0, 0, 0), (5, 'patient', 'unchanged', 'ok', 0, 0, 0),"
        " (5, 'paysplit', 'incremental', 'ok', 0, 0, 2),"  # only deletes
        " (5, 'definition', 'full', 'ok', 40, 0, 0),"  # a reload: identical rows are rewritten
        " (6, 'claim', 'none', 'failed', NULL, NULL, NULL),"
        " (3, 'adjustment', 'incremental', 'ok', 9, 0, 0)"  # before the last transform
    )
    tables = ["patient", "paysplit", "definition", "claim", "adjustment"]
    changed, unchanged = loader_verdicts(db, tables, since_run=3)
    assert changed == {"paysplit"}
    assert unchanged == {"patient", "claim"}  # definition: counted; adjustment: no figures since
    # a run killed before it recorded its figures: every table is counted
    db.conn.execute("INSERT INTO _dental.sync_runs VALUES (7, 'interrupted')")
    assert loader_verdicts(db, tables, since_run=3) == (set(), set())


def test_a_transform_records_no_loader_run_past_one_still_running() -> None:
    progress = {"patient": 7, "procedurelog": 9, "claim": 8}
    assert applied_through(progress, None) == 9
    # run 9 is still committing tables: what it wrote so far is read again next time
    assert applied_through(progress, 9) == 8
    assert applied_through(progress, 12) == 9  # a newer run started but has committed nothing yet
    assert applied_through({}, 3) is None and applied_through(None, None) is None
