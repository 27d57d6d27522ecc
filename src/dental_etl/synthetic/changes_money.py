"""The money side of a day: claims and insurance checks, payments and their splits, adjustments,
and the hard deletes of splits and adjustments (keeping every payment equal to its splits)."""

from __future__ import annotations

from dental_etl.synthetic import catalog
from dental_etl.synthetic.changes_base import ActionsBase


class MoneyActions(ActionsBase):
    """Claims, insurance payments, patient payments and adjustments."""

    def _claim(self, pat: int, procs: tuple, clinic: int) -> list[tuple[int, float, int]]:
        """Send a claim for the insured part; returns (ProcNum, patient portion, ProvNum) per procedure."""
        cov = self._one(
            "SELECT s.InsSubNum, s.PlanNum, i.FeeSched FROM patplan pp JOIN inssub s USING (InsSubNum) "
            "JOIN insplan i ON i.PlanNum = s.PlanNum WHERE pp.PatNum = %s AND pp.Ordinal = 1",
            (pat,),
        )
        code_of = {num: code for code, (num, _) in self.codes.items()}
        percent: dict[int, int] = {}
        if cov is not None:  # the plan's coinsurance per coverage category (benefit rows)
            self.cur.execute(
                "SELECT CovCatNum, Percent FROM benefit WHERE PlanNum = %s AND BenefitType = 1", (cov[1],)
            )
            percent = {int(c): int(pc) for c, pc in self.cur.fetchall()}
        parts = []
        lines = []
        for proc_num, fee, code_num, units, base, prov in procs:
            total = round(float(fee) * max(int(units) + int(base), 1), 2)
            code = code_of.get(int(code_num), "")
            coverage = (
                catalog.CODES[catalog.CODE_INDEX[code]].coverage if code in catalog.CODE_INDEX else "none"
            )
            pct = percent.get({"prev": 1, "basic": 2, "major": 3}.get(coverage, 0), 0)
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
            sub, plan, _ = cov  # type: ignore[misc]
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
        paid = self._must(
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

    def delete_paysplit(self) -> None:
        """A split entered by mistake is removed; its payment shrinks so the splits still sum to it."""
        row = self._random_row(
            "paysplit", "SplitNum", "UnearnedType = 0 AND SplitAmt > 0", "SplitNum, PayNum, SplitAmt, PatNum"
        )
        if row is None:
            return
        split, pay, amount, pat = row
        kind, splits = self._must(
            "SELECT p.PayType, COUNT(*) FROM payment p JOIN paysplit s USING (PayNum) WHERE p.PayNum = %s "
            "GROUP BY p.PayType",
            (pay,),
        )
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
