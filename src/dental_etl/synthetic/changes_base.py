"""What every `apply_changes` activity needs: the cursor, lookups read from the database and the
counts of rows touched. The activities themselves live in changes_money.py and changes_clinical.py.

Every action records what it touched in `counts` (per table: inserted/updated/deleted rows) and
the guarantors whose ledger changed in `families`. Lookups (definitions by category, codes, fees,
coverage) are read from the database itself, never assumed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time

import numpy as np
import pymysql

SCHEDULED, COMPLETE = 1, 2
TP, DONE = 1, 2


def _utcnow() -> datetime:
    """Naive UTC now: the session runs at time_zone '+00:00'."""
    return datetime.now(UTC).replace(tzinfo=None)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


class ActionsBase:
    """Connection, lookups and bookkeeping shared by every kind of activity."""

    def __init__(self, cur: pymysql.cursors.Cursor, rng: np.random.Generator, day: date) -> None:
        self.cur, self.rng, self.day = cur, rng, day
        self._key_range: dict[tuple[str, str], tuple] = {}
        self._upcoming: list[tuple] | None = None
        self.counts: dict[str, dict[str, int]] = defaultdict(
            lambda: {"inserted": 0, "updated": 0, "deleted": 0}
        )
        self.families: set[int] = set()
        self.total = 0
        cur.execute("SELECT DefNum, Category, ItemName, ItemValue FROM definition WHERE IsHidden = 0")
        self.defs: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        for num, cat, name, value in cur.fetchall():
            self.defs[int(cat)].append((int(num), name, value))
        cur.execute("SELECT CodeNum, ProcCode, AbbrDesc FROM procedurecode")
        self.codes = {code: (int(num), abbr) for num, code, abbr in cur.fetchall()}
        cur.execute("SELECT FeeSched, CodeNum, Amount FROM fee")
        self.fees = {(int(s), int(c)): float(a) for s, c, a in cur.fetchall()}
        cur.execute("SELECT MIN(UserNum), MAX(UserNum) FROM userod")
        lo, hi = cur.fetchone()
        self.users = (int(lo or 1), int(hi or 1))
        cur.execute("SELECT MAX(PatNum) FROM patient")
        self.max_pat = int(cur.fetchone()[0] or 0)

    # -- bookkeeping -------------------------------------------------------------------------------
    def _run(self, table: str, kind: str, sql: str, params: tuple = ()) -> int:
        self.cur.execute(sql, params)
        n = self.cur.rowcount
        self.counts[table][kind] += n
        self.total += n
        return n

    def _insert(self, table: str, values: dict[str, object]) -> int:
        cols = ", ".join(f"`{c}`" for c in values)
        marks = ", ".join(["%s"] * len(values))
        self._run(
            table, "inserted", f"INSERT INTO `{table}` ({cols}) VALUES ({marks})", tuple(values.values())
        )
        return int(self.cur.lastrowid)

    def _def(self, category: int, name: str | None = None) -> int:
        items = self.defs[category]
        if name is not None:
            for num, item, _ in items:
                if item == name:
                    return num
        return items[int(self.rng.integers(len(items)))][0]

    def _user(self) -> int:
        return int(self.rng.integers(self.users[0], self.users[1] + 1))

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        self.cur.execute(sql, params)
        return self.cur.fetchone()

    def _must(self, sql: str, params: tuple = ()) -> tuple:
        """A query that always returns a row (an aggregate, or a row known to exist)."""
        row = self._one(sql, params)
        if row is None:
            raise LookupError(f"no row for {sql}")
        return row

    def _random_row(self, table: str, key: str, where: str, columns: str) -> tuple | None:
        """A random row matching `where`: probe a random point of the matching rows' key range and
        walk the key index to the next match (no ORDER BY RAND(), no scan of a big table per action).
        The range is the matching rows' own, found once per table and condition: rows that match
        only at the end of the table (scheduled appointments) would otherwise cost a walk over
        most of the table for every pick."""
        if (table, where) not in self._key_range:
            self._key_range[table, where] = self._one(
                f"SELECT MIN({key}), MAX({key}) FROM {table} WHERE {where}"
            ) or (None, None)
        low, high = self._key_range[table, where]
        if low is None:
            return None
        pivot = int(self.rng.integers(int(low), int(high) + 1))
        sql = f"SELECT {columns} FROM {table} WHERE {where} AND {key} >= %s ORDER BY {key} LIMIT 1"
        return self._one(sql, (pivot,)) or self._one(sql, (low,))

    def _log(self, perm: int, pat: int, fkey: int, text: str) -> None:
        self._insert(
            "securitylog",
            {
                "PermType": perm,
                "UserNum": self._user(),
                "LogDateTime": _utcnow(),
                "LogText": text,
                "PatNum": pat,
                "CompName": "FRONT1",
                "FKey": fkey,
            },
        )

    def _hist(self, apt: int, action: int) -> None:
        cols = (
            "PatNum, AptStatus, Pattern, Confirmed, TimeLocked, Op, Note, ProvNum, ProvHyg, AptDateTime, "
            "NextAptNum, UnschedStatus, IsNewPatient, ProcDescript, Assistant, ClinicNum, IsHygiene, "
            "InsPlan1, InsPlan2, AppointmentTypeNum, SecUserNumEntry, SecDateTEntry, Priority"
        )
        self._run(
            "histappointment",
            "inserted",
            f"INSERT INTO histappointment (HistUserNum, HistDateTStamp, HistApptAction, AptNum, {cols}) "
            f"SELECT %s, UTC_TIMESTAMP(), %s, AptNum, {cols} FROM appointment WHERE AptNum = %s",
            (self._user(), action, apt),
        )

    def _guarantor(self, pat: int) -> int:
        row = self._one("SELECT Guarantor FROM patient WHERE PatNum = %s", (pat,))
        return int(row[0]) if row else pat

    def _fee(self, pat: int, code_num: int) -> float:
        row = self._one(
            "SELECT p.FeeSched, pr.FeeSched FROM patient p LEFT JOIN provider pr ON pr.ProvNum = p.PriProv "
            "WHERE p.PatNum = %s",
            (pat,),
        )
        sched = int(row[0] or row[1] or 1) if row else 1
        return self.fees.get((sched, code_num), self.fees.get((1, code_num), 0.0))

    # -- the day's activity ------------------------------------------------------------------------
