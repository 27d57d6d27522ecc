"""Independent answers for the generator's integration tests, computed from the database with
plain SQL and Python (deliberately not reusing dental_etl.synthetic.ledger)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pymysql


def family_balances(cur: pymysql.cursors.Cursor, as_of: date) -> dict[int, tuple[float, ...]]:
    """Guarantor -> (0-30, 31-60, 61-90, over 90, total, InsEst) following docs/ledger_rules.md."""
    cur.execute("SELECT PatNum, Guarantor FROM patient")
    guarantor = dict(cur.fetchall())
    queries = [
        "SELECT PatNum, ProcDate, ProcFee * GREATEST(UnitQty + BaseUnits, 1) FROM procedurelog "
        "WHERE ProcStatus = 2",
        "SELECT PatNum, AdjDate, AdjAmt FROM adjustment",
        "SELECT PatNum, DatePay, -SplitAmt FROM paysplit WHERE UnearnedType = 0",
        "SELECT PatNum, DateCP, -(InsPayAmt + WriteOff) FROM claimproc WHERE Status IN (1, 4)",
    ]
    buckets: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    credits: dict[int, float] = defaultdict(float)
    for sql in queries:
        cur.execute(sql)
        for pat, when, amount in cur.fetchall():
            if when > as_of or pat not in guarantor:
                continue
            guar = guarantor[pat]
            if amount < 0:
                credits[guar] += -amount
                continue
            age = (as_of - when).days
            bucket = 0 if age <= 30 else 1 if age <= 60 else 2 if age <= 90 else 3
            buckets[guar][bucket] += amount
    cur.execute("SELECT PatNum, InsPayEst FROM claimproc WHERE Status = 0")
    pending: dict[int, float] = defaultdict(float)
    for pat, est in cur.fetchall():
        pending[guarantor[pat]] += est
    result = {}
    for guar in set(buckets) | set(credits) | set(pending):
        b = list(buckets[guar])
        left = credits[guar]
        for i in (3, 2, 1):  # oldest first
            used = min(left, b[i])
            b[i] -= used
            left -= used
        b[0] -= left
        result[guar] = (b[0], b[1], b[2], b[3], sum(b), pending[guar])
    return result
