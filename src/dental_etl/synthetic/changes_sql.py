"""The individual kinds of activity `apply_changes` performs, each a few SQL statements.

Every action records what it touched in `counts` (per table: inserted/updated/deleted rows) and
the guarantors whose ledger changed in `families`. Lookups (definitions by category, codes, fees,
coverage) are read from the database itself, never assumed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pymysql

from dental_etl.synthetic import catalog

SCHEDULED, COMPLETE = 1, 2
TP, DONE = 1, 2


def _utcnow() -> datetime:
    """Naive UTC now: the session runs at time_zone '+00:00'."""
    return datetime.now(UTC).replace(tzinfo=None)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


class Actions:
    def __init__(self, cur: pymysql.cursors.Cursor, rng: np.random.Generator, day: date) -> None:
        self.cur, self.rng, self.day = cur, rng, day
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

    def _random_row(self, table: str, key: str, where: str, columns: str) -> tuple | None:
        """A random row matching `where`, found by probing the key range (no full-table ORDER BY RAND())."""
        row = self._one(f"SELECT MIN({key}), MAX({key}) FROM {table} WHERE {where}")
        if not row or row[0] is None:
            return None
        pivot = int(self.rng.integers(int(row[0]), int(row[1]) + 1))
        return self._one(
            f"SELECT {columns} FROM {table} WHERE {where} AND {key} >= %s ORDER BY {key} LIMIT 1", (pivot,)
        )

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
    def complete_appointment(self) -> None:
        """The next scheduled appointment happens today: procedures completed, claim, payment, recall."""
        row = self._one(
            "SELECT AptNum, PatNum, AptDateTime, ProvNum, ClinicNum, IsHygiene FROM appointment "
            "WHERE AptStatus = 1 AND AptDateTime >= %s ORDER BY AptDateTime LIMIT 1",
            (at(self.day, 0),),
        )
        if row is None:
            return self.book_appointment()
        apt, pat, when, prov, clinic, hygiene = row
        start = at(self.day, when.hour, when.minute)
        self._run(
            "appointment",
            "updated",
            "UPDATE appointment SET AptStatus = 2, AptDateTime = %s, DateTimeArrived = %s, "
            "DateTimeSeated = %s, "
            "DateTimeDismissed = %s, Confirmed = %s WHERE AptNum = %s",
            (
                start,
                start - timedelta(minutes=5),
                start,
                start + timedelta(minutes=50),
                self._def(2, "Dismissed"),
                apt,
            ),
        )
        self._hist(apt, 1)
        self.cur.execute(
            "SELECT ProcNum, ProcFee, CodeNum, UnitQty, BaseUnits, ProvNum FROM procedurelog "
            "WHERE AptNum = %s AND ProcStatus = 1",
            (apt,),
        )
        procs = self.cur.fetchall()
        if not procs:
            return
        self._run(
            "procedurelog",
            "updated",
            "UPDATE procedurelog SET ProcStatus = 2, ProcDate = %s, DateEntryC = %s, DateComplete = %s "
            "WHERE AptNum = %s AND ProcStatus = 1",
            (self.day, self.day, self.day, apt),
        )
        for proc in procs:
            self._log(23, pat, proc[0], f"Procedure completed, fee {proc[1]}")
        due = self._claim(pat, procs, clinic)
        self._pay(pat, due, prov, clinic)
        if hygiene:
            self._run(
                "recall",
                "updated",
                "UPDATE recall SET DatePrevious = %s, DateDueCalc = DATE_ADD(%s, INTERVAL 6 MONTH), "
                "DateDue = DATE_ADD(%s, INTERVAL 6 MONTH), DateScheduled = '0001-01-01' "
                "WHERE PatNum = %s AND RecallInterval = 393216",
                (self.day, self.day, self.day, pat),
            )
        self.families.add(self._guarantor(pat))

    def _claim(self, pat: int, procs: tuple, clinic: int) -> list[tuple[int, float, int]]:
        """Send a claim for the insured part; returns (ProcNum, patient portion, ProvNum) per procedure."""
        cov = self._one(
            "SELECT s.InsSubNum, s.PlanNum, i.FeeSched FROM patplan pp JOIN inssub s USING (InsSubNum) "
            "JOIN insplan i ON i.PlanNum = s.PlanNum WHERE pp.PatNum = %s AND pp.Ordinal = 1",
            (pat,),
        )
        code_of = {num: code for code, (num, _) in self.codes.items()}
        parts = []
        lines = []
        for proc_num, fee, code_num, units, base, prov in procs:
            total = round(float(fee) * max(int(units) + int(base), 1), 2)
            code = code_of.get(int(code_num), "")
            pct = (
                catalog.COVERAGE_PERCENT[catalog.CODES[catalog.CODE_INDEX[code]].coverage]
                if code in catalog.CODE_INDEX
                else 0
            )
            if cov is None or pct == 0 or total <= 0:
                parts.append((int(proc_num), total, int(prov)))
                continue
            sched = int(cov[2])
            allowed = (
                min(total, self.fees.get((sched, int(code_num)), total) * max(int(units) + int(base), 1))
                if sched
                else total
            )
            est = round(allowed * pct / 100, 2)
            wo = round(total - allowed, 2)
            lines.append((int(proc_num), total, est, wo, code, int(prov)))
            parts.append((int(proc_num), round(total - est - wo, 2), int(prov)))
        if lines:
            sub, plan, _ = cov
            claim = self._insert(
                "claim",
                {
                    "PatNum": pat,
                    "DateService": self.day,
                    "DateSent": self.day,
                    "ClaimStatus": "S",
                    "PlanNum": plan,
                    "ProvTreat": lines[0][5],
                    "ClaimFee": round(sum(x[1] for x in lines), 2),
                    "InsPayEst": round(sum(x[2] for x in lines), 2),
                    "ClaimType": "P",
                    "ProvBill": lines[0][5],
                    "InsSubNum": sub,
                    "ClinicNum": clinic,
                    "WriteOff": round(sum(x[3] for x in lines), 2),
                    "SecDateEntry": self.day,
                    "DateSentOrig": self.day,
                    "EmployRelated": 2,
                    "IsProsthesis": "N",
                },
            )
            marks = ", ".join(["%s"] * len(lines))
            self._run(
                "claimproc",
                "deleted",
                f"DELETE FROM claimproc WHERE Status = 6 AND ProcNum IN ({marks})",
                tuple(x[0] for x in lines),
            )
            for i, (proc_num, total, est, wo, code, prov) in enumerate(lines):
                self._insert(
                    "claimproc",
                    {
                        "ProcNum": proc_num,
                        "ClaimNum": claim,
                        "PatNum": pat,
                        "ProvNum": prov,
                        "FeeBilled": total,
                        "InsPayEst": est,
                        "Status": 0,
                        "PlanNum": plan,
                        "DateCP": self.day,
                        "WriteOff": wo,
                        "CodeSent": code,
                        "AllowedOverride": -1,
                        "Percentage": -1,
                        "PercentOverride": -1,
                        "CopayAmt": -1,
                        "CopayOverride": -1,
                        "ProcDate": self.day,
                        "DateEntry": self.day,
                        "LineNumber": i + 1,
                        "DedEstOverride": -1,
                        "InsEstTotal": est,
                        "InsEstTotalOverride": -1,
                        "PaidOtherInsOverride": -1,
                        "WriteOffEst": wo,
                        "WriteOffEstOverride": -1,
                        "ClinicNum": clinic,
                        "InsSubNum": sub,
                        "SecDateEntry": self.day,
                        "BaseEst": est,
                    },
                )
            self._log(104, pat, claim, "Claim sent")
        return parts

    def _pay(self, pat: int, parts: list[tuple[int, float, int]], prov: int, clinic: int) -> None:
        parts = [x for x in parts if x[1] > 0]
        if not parts or self.rng.random() < 0.3:
            return
        guar = self._guarantor(pat)
        amount = round(sum(x[1] for x in parts), 2)
        pay = self._insert(
            "payment",
            {
                "PayType": self._def(10),
                "PayDate": self.day,
                "PayAmt": amount,
                "PatNum": guar,
                "ClinicNum": clinic,
                "DateEntry": self.day,
                "SecUserNumEntry": self._user(),
                "PayNote": "",
            },
        )
        for proc_num, split, proc_prov in parts:
            self._insert(
                "paysplit",
                {
                    "SplitAmt": split,
                    "PatNum": pat,
                    "PayNum": pay,
                    "ProvNum": proc_prov or prov,
                    "DatePay": self.day,
                    "ProcNum": proc_num,
                    "DateEntry": self.day,
                    "ClinicNum": clinic,
                },
            )
        self._log(15, guar, pay, f"Payment of {amount} entered")
        self.families.add(guar)

    def book_appointment(self, pat: int | None = None, new: bool = False) -> None:
        """A future recall appointment with its planned procedures (status TP)."""
        if pat is None:
            row = self._random_row("patient", "PatNum", "PatStatus = 0", "PatNum")
            if row is None:
                return
            pat = int(row[0])
        info = self._one("SELECT PriProv, SecProv, ClinicNum FROM patient WHERE PatNum = %s", (pat,))
        prov, hyg, clinic = (int(x) for x in info)
        op = self._one(
            "SELECT OperatoryNum FROM operatory WHERE ClinicNum = %s AND IsHygiene = 1 LIMIT 1", (clinic,)
        )
        when = at(self.day + timedelta(days=int(self.rng.integers(3, 120))), int(self.rng.integers(8, 16)))
        codes = ["D0150", "D0210", "D1110"] if new else ["D0120", "D1110"]
        apt = self._insert(
            "appointment",
            {
                "PatNum": pat,
                "AptStatus": 1,
                "Pattern": "//XXXXXXXX//",
                "Confirmed": self._def(2, "Not Called"),
                "Op": op[0] if op else 0,
                "ProvNum": prov,
                "ProvHyg": hyg,
                "AptDateTime": when,
                "IsNewPatient": int(new),
                "ProcDescript": ", ".join(self.codes[c][1] for c in codes if c in self.codes),
                "ClinicNum": clinic,
                "IsHygiene": 1,
                "SecUserNumEntry": self._user(),
                "SecDateTEntry": _utcnow(),
            },
        )
        for code in codes:
            if code not in self.codes:
                continue
            num = self.codes[code][0]
            self._insert(
                "procedurelog",
                {
                    "PatNum": pat,
                    "AptNum": apt,
                    "ProcDate": when.date(),
                    "ProcFee": self._fee(pat, num),
                    "ProcStatus": TP,
                    "ProvNum": hyg if code == "D1110" and hyg else prov,
                    "ClinicNum": clinic,
                    "CodeNum": num,
                    "UnitQty": 1,
                    "DateTP": self.day,
                    "SecUserNumEntry": self._user(),
                    "SecDateEntry": _utcnow(),
                },
            )
        self._hist(apt, 0)
        self._insert(
            "entrylog",
            {"UserNum": self._user(), "FKeyType": 0, "FKey": apt, "LogSource": 0, "EntryDateTime": _utcnow()},
        )
        self._log(25, pat, apt, f"Appointment created AptNum {apt}")

    def new_patient(self) -> None:
        row = self._random_row(
            "patient",
            "PatNum",
            "PatStatus = 0 AND PatNum = Guarantor",
            "LName, Address, City, State, Zip, HmPhone, PriProv, SecProv, ClinicNum",
        )
        if row is None:
            return
        first = str(self.rng.choice(["Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn"]))
        pat = self._insert(
            "patient",
            {
                "LName": row[0],
                "FName": first,
                "PatStatus": 0,
                "Gender": int(self.rng.integers(0, 2)),
                "Birthdate": date(
                    1960 + int(self.rng.integers(0, 45)), 1 + int(self.rng.integers(0, 12)), 15
                ),
                "Address": row[1],
                "City": row[2],
                "State": row[3],
                "Zip": row[4],
                "HmPhone": row[5],
                "PriProv": row[6],
                "SecProv": row[7],
                "ClinicNum": row[8],
                "BillingType": self._def(4, "Standard Account"),
                "SecDateEntry": self.day,
                "SecUserNumEntry": self._user(),
            },
        )
        self._run("patient", "updated", "UPDATE patient SET Guarantor = PatNum WHERE PatNum = %s", (pat,))
        self._log(106, pat, pat, "Patient created")
        self.book_appointment(pat, new=True)

    def receive_claim(self) -> None:
        row = self._random_row(
            "claim", "ClaimNum", "ClaimStatus IN ('S', 'W', 'U')", "ClaimNum, PatNum, PlanNum, ClinicNum"
        )
        if row is None:
            return
        claim, pat, plan, clinic = row
        self._run(
            "claimproc",
            "updated",
            "UPDATE claimproc SET Status = 1, InsPayAmt = InsPayEst, DateCP = %s, DateInsFinalized = %s "
            "WHERE ClaimNum = %s AND Status = 0",
            (self.day, self.day, claim),
        )
        paid = self._one(
            "SELECT ROUND(COALESCE(SUM(InsPayAmt), 0), 2) FROM claimproc WHERE ClaimNum = %s AND Status = 1",
            (claim,),
        )[0]
        self._run(
            "claim",
            "updated",
            "UPDATE claim SET ClaimStatus = 'R', DateReceived = %s, InsPayAmt = %s WHERE ClaimNum = %s",
            (self.day, paid, claim),
        )
        carrier = self._one(
            "SELECT c.CarrierName FROM insplan i JOIN carrier c USING (CarrierNum) WHERE i.PlanNum = %s",
            (plan,),
        )
        check = self._insert(
            "claimpayment",
            {
                "CheckDate": self.day,
                "CheckAmt": paid,
                "CheckNum": str(int(self.rng.integers(100000, 999999))),
                "ClinicNum": clinic,
                "CarrierName": carrier[0] if carrier else "",
                "DateIssued": self.day,
                "PayType": self._def(32, "Check"),
                "SecUserNumEntry": self._user(),
                "SecDateEntry": self.day,
                "PayGroup": self._def(40),
            },
        )
        self._run(
            "claimproc",
            "updated",
            "UPDATE claimproc SET ClaimPaymentNum = %s WHERE ClaimNum = %s AND Status = 1 "
            "AND ClaimPaymentNum = 0",
            (check, claim),
        )
        self._log(36, pat, check, "Insurance payment created")
        self.families.add(self._guarantor(int(pat)))

    def payment(self) -> None:
        """A family pays part of what it owes, applied to its latest completed procedure."""
        row = self._random_row(
            "patient", "PatNum", "PatNum = Guarantor AND BalTotal > 1", "PatNum, BalTotal, ClinicNum"
        )
        if row is None:
            return
        guar, bal, clinic = row
        proc = self._one(
            "SELECT ProcNum, PatNum, ProvNum FROM procedurelog WHERE ProcStatus = 2 AND PatNum IN "
            "(SELECT PatNum FROM patient WHERE Guarantor = %s) ORDER BY ProcDate DESC LIMIT 1",
            (guar,),
        )
        if proc is None:
            return
        amount = round(min(float(bal), float(self.rng.uniform(20, 300))), 2)
        self._pay(int(proc[1]), [(int(proc[0]), amount, int(proc[2]))], int(proc[2]), int(clinic))

    def adjustment(self) -> None:
        row = self._random_row(
            "procedurelog",
            "ProcNum",
            "ProcStatus = 2 AND ProcFee > 0",
            "ProcNum, PatNum, ProvNum, ClinicNum, ProcFee",
        )
        if row is None:
            return
        proc, pat, prov, clinic, fee = row
        sign = "-" if self.rng.random() < 0.6 else "+"
        kinds = [num for num, _, value in self.defs[1] if value == sign]
        adj_type = kinds[int(self.rng.integers(len(kinds)))]
        amount = round(float(fee) * 0.05, 2) or 1.0
        self._insert(
            "adjustment",
            {
                "AdjDate": self.day,
                "AdjAmt": -amount if sign == "-" else amount,
                "PatNum": pat,
                "AdjType": adj_type,
                "ProvNum": prov,
                "ProcDate": self.day,
                "ProcNum": proc if sign == "-" else 0,
                "DateEntry": self.day,
                "ClinicNum": clinic,
                "SecUserNumEntry": self._user(),
                "AdjNote": "",
            },
        )
        self._log(17, pat, 0, f"Adjustment of {amount} entered")
        self.families.add(self._guarantor(int(pat)))

    def edit_patient(self) -> None:
        row = self._random_row("patient", "PatNum", "PatStatus = 0", "PatNum")
        if row is None:
            return
        phone = f"({int(self.rng.integers(201, 990))})555-01{int(self.rng.integers(0, 100)):02d}"
        self._run(
            "patient",
            "updated",
            "UPDATE patient SET WirelessPhone = %s, TxtMsgOk = 1 WHERE PatNum = %s",
            (phone, row[0]),
        )
        self._log(108, int(row[0]), int(row[0]), "Patient edited")

    def confirm_appointment(self) -> None:
        confirmed = self._def(2, "Confirmed")
        row = self._random_row(
            "appointment", "AptNum", f"AptStatus = 1 AND Confirmed <> {confirmed}", "AptNum, PatNum"
        )
        if row is None:
            return
        self._run(
            "appointment",
            "updated",
            "UPDATE appointment SET Confirmed = %s WHERE AptNum = %s",
            (confirmed, row[0]),
        )
        self._hist(int(row[0]), 1)
        self._insert(
            "commlog",
            {
                "PatNum": row[1],
                "CommDateTime": _utcnow(),
                "CommType": self._def(27),
                "Note": "Patient replied C to confirm.",
                "Mode_": 5,
                "SentOrReceived": 2,
                "CommSource": 3,
                "DateTEntry": _utcnow(),
            },
        )

    def commlog(self) -> None:
        row = self._random_row("patient", "PatNum", "PatStatus = 0", "PatNum")
        if row is None:
            return
        self._insert(
            "commlog",
            {
                "PatNum": row[0],
                "CommDateTime": _utcnow(),
                "CommType": self._def(27),
                "Note": "Called patient.\r\nLeft message.",
                "Mode_": 3,
                "SentOrReceived": 1,
                "UserNum": self._user(),
                "DateTEntry": _utcnow(),
            },
        )
        if self.rng.random() < 0.3:
            old = self._random_row("commlog", "CommlogNum", "CommSource = 0", "CommlogNum")
            if old:
                self._run(
                    "commlog",
                    "updated",
                    "UPDATE commlog SET Note = CONCAT(Note, ' (edited)') WHERE CommlogNum = %s",
                    (old[0],),
                )

    def delete_appointment(self) -> None:
        row = self._random_row("appointment", "AptNum", "AptStatus = 1", "AptNum, PatNum")
        if row is None:
            return
        apt, pat = int(row[0]), int(row[1])
        self._hist(apt, 4)
        self._run("procedurelog", "updated", "UPDATE procedurelog SET AptNum = 0 WHERE AptNum = %s", (apt,))
        self._run("appointment", "deleted", "DELETE FROM appointment WHERE AptNum = %s", (apt,))
        self._log(237, pat, apt, f"Appointment deleted AptNum {apt}")

    def delete_paysplit(self) -> None:
        """A split entered by mistake is removed; its payment shrinks so the splits still sum to it."""
        row = self._random_row(
            "paysplit", "SplitNum", "UnearnedType = 0 AND SplitAmt > 0", "SplitNum, PayNum, SplitAmt, PatNum"
        )
        if row is None:
            return
        split, pay, amount, pat = row
        kind, splits = self._one(
            "SELECT p.PayType, COUNT(*) FROM payment p JOIN paysplit s USING (PayNum) WHERE p.PayNum = %s "
            "GROUP BY p.PayType", (pay,))
        if kind == 0 or splits < 2:  # keep income transfers whole and every payment with a split
            return
        self._run("paysplit", "deleted", "DELETE FROM paysplit WHERE SplitNum = %s", (split,))
        self._run(
            "payment",
            "updated",
            "UPDATE payment SET PayAmt = ROUND(PayAmt - %s, 2) WHERE PayNum = %s",
            (amount, pay),
        )
        self.families.add(self._guarantor(int(pat)))

    def delete_adjustment(self) -> None:
        row = self._random_row("adjustment", "AdjNum", "1 = 1", "AdjNum, PatNum")
        if row is None:
            return
        self._run("adjustment", "deleted", "DELETE FROM adjustment WHERE AdjNum = %s", (row[0],))
        self.families.add(self._guarantor(int(row[1])))

    def delete_commlog(self) -> None:
        row = self._random_row("commlog", "CommlogNum", "1 = 1", "CommlogNum")
        if row is not None:
            self._run("commlog", "deleted", "DELETE FROM commlog WHERE CommlogNum = %s", (row[0],))
