"""The clinical side of a day: appointments completed, booked, confirmed and deleted, new
patients, patient edits and communications."""

from __future__ import annotations

from datetime import date, timedelta

from dental_etl.synthetic.changes_base import TP, _utcnow, at
from dental_etl.synthetic.changes_money import MoneyActions


class Actions(MoneyActions):
    """Every kind of activity `apply_changes` draws from (methods named in changes.WEIGHTS)."""

    def complete_appointment(self) -> None:
        """The next scheduled appointment happens today: procedures completed, claim, payment, recall."""
        if self._upcoming is None:  # one scan for the day's (and the next days') appointments
            self.cur.execute(
                "SELECT AptNum, PatNum, AptDateTime, ProvNum, ClinicNum, IsHygiene FROM appointment "
                "WHERE AptStatus = 1 AND AptDateTime >= %s ORDER BY AptDateTime LIMIT 5000",
                (at(self.day, 0),),
            )
            self._upcoming = sorted(self.cur.fetchall(), key=lambda r: r[2], reverse=True)
        row = self._upcoming.pop() if self._upcoming else None
        if row is None or self._one("SELECT AptStatus FROM appointment WHERE AptNum = %s", (row[0],)) != (1,):
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

    def book_appointment(self, pat: int | None = None, new: bool = False) -> None:
        """A future recall appointment with its planned procedures (status TP)."""
        if pat is None:
            row = self._random_row("patient", "PatNum", "PatStatus = 0", "PatNum")
            if row is None:
                return
            pat = int(row[0])
        info = self._one("SELECT PriProv, SecProv, ClinicNum FROM patient WHERE PatNum = %s", (pat,))
        prov, hyg, clinic = (int(x) for x in info or (0, 0, 0))
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

    def delete_commlog(self) -> None:
        row = self._random_row("commlog", "CommlogNum", "1 = 1", "CommlogNum")
        if row is not None:
            self._run("commlog", "deleted", "DELETE FROM commlog WHERE CommlogNum = %s", (row[0],))
