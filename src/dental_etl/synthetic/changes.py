"""`apply_changes`: a realistic day of activity on an existing (generated) OpenDental database.

Everything goes through plain SQL on one connection, as OpenDental itself would write it: rows are
inserted (MySQL fills DateTStamp/SecDateTEdit), edited with UPDATE (MySQL bumps those columns
itself) and a few are hard-deleted (appointments, paysplits, adjustments, commlogs, estimate
claimprocs). The ledger stays consistent: every payment's splits sum to its PayAmt, and the
balances of every family touched are recomputed with ledger.py and stored on the guarantor.
"""

from __future__ import annotations

from datetime import date

import msgspec
import numpy as np
import polars as pl
import pymysql

from dental_etl.errors import SourceUnreachable
from dental_etl.mysql import connect
from dental_etl.settings import MySQLSource
from dental_etl.synthetic import ledger
from dental_etl.synthetic.changes_clinical import Actions

SESSION = "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'"
WEIGHTS = {
    "complete_appointment": 4,
    "book_appointment": 3,
    "new_patient": 1,
    "receive_claim": 2,
    "payment": 2,
    "adjustment": 1,
    "edit_patient": 2,
    "confirm_appointment": 3,
    "commlog": 3,
    "delete_appointment": 0.4,
    "delete_paysplit": 0.4,
    "delete_adjustment": 0.3,
    "delete_commlog": 0.4,
}


class TableChanges(msgspec.Struct):
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


class ChangeSummary(msgspec.Struct):
    """What `apply_changes` did, per table; `families` = guarantors whose balances were recomputed."""

    tables: dict[str, TableChanges]
    families: int

    @property
    def total(self) -> int:
        return sum(t.inserted + t.updated + t.deleted for t in self.tables.values())


def apply_changes(
    source: MySQLSource, n_changes: int, *, seed: int = 42, today: date | None = None
) -> ChangeSummary:
    """Apply about `n_changes` changed rows of activity dated `today` (default: today)."""
    day = today or date.today()
    rng = np.random.default_rng([seed, day.toordinal(), 7])
    conn = connect(source, database=True)
    try:
        with conn.cursor() as cur:
            _check_generated(cur, source)
            cur.execute(SESSION)
            conn.autocommit(False)
            actions = Actions(cur, rng, day)
            names = list(WEIGHTS)
            p = np.array([WEIGHTS[k] for k in names], dtype=float)
            p /= p.sum()
            for name in names:  # every day has a few of each kind, hard deletes included
                if name.startswith("delete_"):
                    getattr(actions, name)()
            guard = 0
            while actions.total < n_changes and guard < n_changes * 4 + 100:
                guard += 1
                getattr(actions, names[rng.choice(len(names), p=p)])()
            families = recompute_balances(cur, actions.families, day)
            conn.commit()
    except pymysql.err.OperationalError as exc:
        conn.rollback()
        from dental_etl.mysql import translate

        raise translate(exc, source) from exc
    finally:
        conn.close()
    tables = {name: TableChanges(**counts) for name, counts in sorted(actions.counts.items())}
    return ChangeSummary(tables=tables, families=families)


def _check_generated(cur: pymysql.cursors.Cursor, source: MySQLSource) -> None:
    cur.execute(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME IN ('patient', 'appointment', 'procedurelog', 'payment', 'paysplit')"
    )
    if cur.fetchone()[0] < 5:
        raise SourceUnreachable(
            f"{source.display} does not look like an OpenDental database "
            "(patient, appointment, procedurelog, "
            "payment, paysplit missing): run `dental generate` first"
        )


def _frame(cur: pymysql.cursors.Cursor, sql: str, params: tuple, schema: dict) -> pl.DataFrame:
    cur.execute(sql, params)
    return pl.DataFrame(list(cur.fetchall()), schema=schema, orient="row")


def recompute_balances(cur: pymysql.cursors.Cursor, guarantors: set[int], as_of: date) -> int:
    """Store the aged family balances (ledger.py) on each touched guarantor's patient row."""
    if not guarantors:
        return 0
    guars = sorted(guarantors)
    marks = ", ".join(["%s"] * len(guars))
    members = _frame(
        cur,
        f"SELECT PatNum, Guarantor FROM patient WHERE Guarantor IN ({marks})",
        tuple(guars),
        {"PatNum": pl.Int64, "Guarantor": pl.Int64},
    )
    pats = tuple(members["PatNum"].to_list()) or (0,)
    pm = ", ".join(["%s"] * len(pats))
    procs = _frame(
        cur,
        f"SELECT PatNum, ProcDate, ProcFee, UnitQty, BaseUnits, ProcStatus FROM procedurelog "
        f"WHERE ProcStatus = 2 AND PatNum IN ({pm})",
        pats,
        {
            "PatNum": pl.Int64,
            "ProcDate": pl.Date,
            "ProcFee": pl.Float64,
            "UnitQty": pl.Int64,
            "BaseUnits": pl.Int64,
            "ProcStatus": pl.Int64,
        },
    )
    adj = _frame(
        cur,
        f"SELECT PatNum, AdjDate, AdjAmt FROM adjustment WHERE PatNum IN ({pm})",
        pats,
        {"PatNum": pl.Int64, "AdjDate": pl.Date, "AdjAmt": pl.Float64},
    )
    splits = _frame(
        cur,
        f"SELECT PatNum, DatePay, SplitAmt, UnearnedType FROM paysplit WHERE PatNum IN ({pm})",
        pats,
        {"PatNum": pl.Int64, "DatePay": pl.Date, "SplitAmt": pl.Float64, "UnearnedType": pl.Int64},
    )
    cps = _frame(
        cur,
        f"SELECT PatNum, DateCP, InsPayAmt, WriteOff, InsPayEst, Status FROM claimproc "
        f"WHERE Status IN (0, 1, 4) AND PatNum IN ({pm})",
        pats,
        {
            "PatNum": pl.Int64,
            "DateCP": pl.Date,
            "InsPayAmt": pl.Float64,
            "WriteOff": pl.Float64,
            "InsPayEst": pl.Float64,
            "Status": pl.Int64,
        },
    )
    balances = ledger.family_balances(procs, adj, splits, cps, members, as_of)
    result = pl.DataFrame({"Guarantor": guars}).join(balances, on="Guarantor", how="left").fill_null(0.0)
    cols = ledger.BALANCE_COLUMNS
    sql = "UPDATE patient SET " + ", ".join(f"{c} = %s" for c in cols) + ", EstBalance = %s WHERE PatNum = %s"
    cur.executemany(
        sql,
        [
            (*(row[c] for c in cols), row["BalTotal"], row["Guarantor"])
            for row in result.iter_rows(named=True)
        ],
    )
    return len(guars)
