"""The transform runner's small decisions, without a warehouse."""

from __future__ import annotations

from dental_etl.transform.changes import detection_sql, run_selection
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
