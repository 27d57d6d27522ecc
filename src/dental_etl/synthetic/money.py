"""Patient money: payments with their splits, adjustments, payment plans, prepayments.

Each completed procedure leaves the patient a portion (fee less what insurance paid and wrote
off, or is expected to). Families pay in their own way: at the visit (the estimated portion, with a
top-up or a credit once insurance has paid), after a statement, in monthly instalments, or
partly and late (finance charges, then a bad-debt write-off). Large restorative visits are
sometimes financed on a payment plan, or prepaid (an unearned split) and moved onto the
procedures by an income transfer on the day of treatment. Payments group a family's splits of one
day, so `SUM(SplitAmt) == PayAmt` holds by construction.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic import money_tables
from dental_etl.synthetic.money_tables import RECURRING
from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import explode_counts, money, to_workday
from dental_etl.synthetic.reference import Reference

PROMPT, STATEMENT, SLOW, POOR = 0, 1, 2, 3


def patient_portions(procs: pl.DataFrame, ins: pl.DataFrame) -> pl.DataFrame:
    """Completed procedures with a fee: total, expected and final insurance, and when it was known."""
    done = procs.filter((pl.col("ProcStatus") == 2) & (pl.col("ProcFee") > 0)).select(
        "ProcNum",
        "PatNum",
        "ProvNum",
        "ClinicNum",
        "AptNum",
        "ProcDate",
        "CodeNum",
        _total=(
            pl.col("ProcFee") * pl.max_horizontal(pl.col("UnitQty") + pl.col("BaseUnits"), pl.lit(1))
        ).round(2),
    )
    by_proc = (
        ins.filter(pl.col("Status").is_in([0, 1, 4]))
        .group_by("ProcNum")
        .agg(
            _expected=(pl.col("_est") + pl.col("_wo")).filter(pl.col("Status") != 4).sum(),
            _final=(pl.col("InsPayAmt") + pl.col("WriteOff")).filter(pl.col("Status").is_in([1, 4])).sum(),
            _received=pl.col("Status").is_in([1]).any(),
            _known_day=pl.col("_cp_day").filter(pl.col("Status") == 1).max(),
        )
    )
    return (
        done.join(by_proc, on="ProcNum", how="left")
        .with_columns(
            pl.col("_expected").fill_null(0.0),
            pl.col("_final").fill_null(0.0),
            pl.col("_received").fill_null(False),
            _day=pl.col("ProcDate").cast(pl.Int32).cast(pl.Int64),
        )
        .with_columns(_known_day=pl.col("_known_day").fill_null(pl.col("_day")))
    )


class Money:
    """Builds payment, paysplit, adjustment, payplan and payplancharge."""

    def __init__(
        self,
        procs: pl.DataFrame,
        ins: pl.DataFrame,
        visits: pl.DataFrame,
        p: Patients,
        ref: Reference,
        rng: np.random.Generator,
    ) -> None:
        self.p, self.ref, self.rng = p, ref, rng
        portions = patient_portions(procs, ins)
        pat = portions["PatNum"].to_numpy() - 1
        n = portions.height
        total = portions["_total"].to_numpy()
        guar = p.guarantor[pat]
        insured = portions["_expected"].to_numpy() > 0
        # discounts: cash discount for some uninsured work, courtesy for staff families
        staff = (guar % 211) == 7
        member = p.member[pat] & ~staff
        cash = ~insured & ~member & (rng.random(n) < 0.08)
        discount = money(
            np.where(
                staff,
                np.maximum(total - portions["_expected"].to_numpy(), 0),
                np.where(member, total * 0.15, np.where(cash, total * 0.05, 0.0)),
            )
        )
        est_due = money(np.maximum(total - portions["_expected"].to_numpy() - discount, 0))
        final_due = np.where(
            portions["_received"].to_numpy(),
            money(np.maximum(total - portions["_final"].to_numpy() - discount, 0)),
            est_due,
        )
        portions = portions.with_columns(
            _discount=pl.Series(discount),
            _est_due=pl.Series(est_due),
            _final_due=pl.Series(final_due),
            _guar=pl.Series(guar),
            _payer=pl.Series(p.payer[pat]),
        )
        self.adjustments: list[pl.DataFrame] = []
        self.splits: list[pl.DataFrame] = []
        # membership fees are charged to the card on file the day they are due
        memb = (portions["CodeNum"] == ref.code_num["MEMB"]).to_numpy()
        fees = portions.filter(pl.Series(memb))
        self._split(
            fees["PatNum"].to_numpy(),
            fees["_total"].to_numpy(),
            fees["_day"].to_numpy(),
            fees["ProcNum"].to_numpy(),
            fees["ProvNum"].to_numpy(),
            paytype=RECURRING,
            group=-2,
        )
        portions = portions.filter(pl.Series(~memb))
        staff, member, discount = staff[~memb], member[~memb], discount[~memb]
        kind = np.where(
            staff, "Professional Courtesy", np.where(member, "Membership Discount", "Cash Discount")
        )
        self._discounts(portions.filter(pl.col("_discount") > 0), kind[discount > 0])
        plans, portions = self._payment_plans(portions)
        self._prepayments(portions, visits)
        self._ordinary(portions)
        self._finish(plans)

    # -- building blocks -----------------------------------------------------------------------
    def _split(
        self, pat, amount, day, proc=0, prov=None, unearned=0, payplan=0, paytype=-1, group=None
    ) -> None:
        n = len(pat)
        p = self.p
        self.splits.append(
            pl.DataFrame(
                {
                    "PatNum": np.asarray(pat, np.int64),
                    "SplitAmt": money(amount),
                    "_day": np.asarray(day, np.int64),
                    "ProcNum": np.broadcast_to(np.asarray(proc, np.int64), n),
                    "ProvNum": np.asarray(
                        prov if prov is not None else p.dentist[np.asarray(pat) - 1], np.int64
                    ),
                    "UnearnedType": np.broadcast_to(np.asarray(unearned, np.int64), n),
                    "PayPlanNum": np.broadcast_to(np.asarray(payplan, np.int64), n),
                    "_paytype": np.broadcast_to(np.asarray(paytype, np.int64), n),
                    "_group": np.broadcast_to(np.asarray(-1 if group is None else group, np.int64), n),
                }
            )
        )

    def _adjust(self, pat, amount, day, adj_type, proc=0, prov=None) -> None:
        n = len(pat)
        self.adjustments.append(
            pl.DataFrame(
                {
                    "PatNum": np.asarray(pat, np.int64),
                    "AdjAmt": money(amount),
                    "_day": np.asarray(day, np.int64),
                    "AdjType": np.broadcast_to(np.asarray(adj_type, np.int64), n),
                    "ProcNum": np.broadcast_to(np.asarray(proc, np.int64), n),
                    "ProvNum": np.asarray(
                        prov if prov is not None else self.p.dentist[np.asarray(pat) - 1], np.int64
                    ),
                }
            )
        )

    def _discounts(self, d: pl.DataFrame, kind: np.ndarray) -> None:
        defs = self.ref.defs
        adj_type = np.array([defs.num("AdjTypes", k) for k in kind], dtype=np.int64)
        self._adjust(
            d["PatNum"].to_numpy(),
            -d["_discount"].to_numpy(),
            d["_day"].to_numpy(),
            adj_type,
            d["ProcNum"].to_numpy(),
            d["ProvNum"].to_numpy(),
        )

    def _payment_plans(self, portions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Large visits of slow payers (and some others) go on a monthly payment plan."""
        rng, p = self.rng, self.p
        visit_due = (
            portions.filter(pl.col("AptNum") > 0)
            .group_by("AptNum")
            .agg(
                _due=pl.col("_final_due").sum(),
                PatNum=pl.col("PatNum").first(),
                _day=pl.col("_day").first(),
                _payer=pl.col("_payer").first(),
                _guar=pl.col("_guar").first(),
                _prov=pl.col("ProvNum").first(),
                _clinic=pl.col("ClinicNum").first(),
            )
            .sort("_day", "AptNum")
        )
        r = rng.random(visit_due.height)
        chosen = (visit_due["_due"].to_numpy() >= 800) & (
            (visit_due["_payer"].to_numpy() == SLOW) | (r < 0.35)
        )
        plans = (
            visit_due.filter(pl.Series(chosen))
            .with_row_index("PayPlanNum", offset=1)
            .with_columns(pl.col("PayPlanNum").cast(pl.Int64))
        )
        k = plans.height
        count = rng.choice([6, 12], k)
        plans = plans.with_columns(NumberOfPayments=pl.Series(count), _principal=pl.col("_due").round(2))
        plans = plans.with_columns(PayAmt=(pl.col("_principal") / pl.col("NumberOfPayments")).round(2))
        parent, i = explode_counts(count)
        principal = plans["_principal"].to_numpy()[parent]
        each = plans["PayAmt"].to_numpy()[parent]
        last_one = i == count[parent] - 1
        amount = money(np.where(last_one, principal - each * (count[parent] - 1), each))
        charge_day = plans["_day"].to_numpy()[parent] + 30 * (i + 1)
        self.plan_charges = pl.DataFrame(
            {
                "PayPlanNum": plans["PayPlanNum"].to_numpy()[parent],
                "Guarantor": plans["_guar"].to_numpy()[parent],
                "PatNum": plans["PatNum"].to_numpy()[parent],
                "_day": charge_day,
                "Principal": amount,
                "ProvNum": plans["_prov"].to_numpy()[parent],
                "ClinicNum": plans["_clinic"].to_numpy()[parent],
                "_entry": plans["_day"].to_numpy()[parent],
            }
        )
        pay_day = to_workday(charge_day + rng.integers(0, 6, len(parent)))
        paid = pay_day <= p.last
        self._split(
            plans["PatNum"].to_numpy()[parent][paid],
            amount[paid],
            pay_day[paid],
            prov=plans["_prov"].to_numpy()[parent][paid],
            payplan=plans["PayPlanNum"].to_numpy()[parent][paid],
        )
        self.plans_paid_off = plans.select("PayPlanNum").with_columns(
            _closed=pl.Series([bool(x) for x in np.bincount(parent[~paid], minlength=k) == 0])
        )
        on_plan = portions["AptNum"].is_in(plans["AptNum"].implode())
        return plans, portions.filter(~on_plan)

    def _prepayments(self, portions: pl.DataFrame, visits: pl.DataFrame) -> None:
        """Some families prepay big treatment; the money is unearned until transferred to the work."""
        rng, p, defs = self.rng, self.p, self.ref.defs
        unearned = defs.num("PaySplitUnearnedType", "Prepayment")
        r_visits = visits.filter((pl.col("_kind") == "R") & pl.col("_status").is_in([1, 2]))
        big = r_visits.filter(pl.Series(rng.random(r_visits.height) < 0.12))
        pat = big["PatNum"].to_numpy()
        exam_day = big["_exam_day"].to_numpy()
        pre_day = to_workday(exam_day + rng.integers(1, 6, big.height))
        amount = np.round(rng.uniform(100, 600, big.height), -1)
        ok = pre_day <= p.last
        self._split(pat[ok], amount[ok], pre_day[ok], unearned=unearned)
        # on the day of treatment, transfer the prepayment onto the largest procedure of the visit
        largest = (
            portions.sort(["_final_due", "ProcNum"], descending=[True, False])  # ties: the first entered
            .group_by("AptNum", maintain_order=True)
            .first()
            .select("AptNum", "ProcNum", "ProvNum", "_day")
        )
        done = (
            big.filter(pl.Series(ok)).with_columns(_amount=pl.Series(amount[ok])).join(largest, on="AptNum")
        )
        n = done.height
        group = np.arange(n) + 10_000_000
        pats = done["PatNum"].to_numpy()
        self._split(
            pats,
            -done["_amount"].to_numpy(),
            done["_day"].to_numpy(),
            unearned=unearned,
            paytype=0,
            group=group,
        )
        self._split(
            pats,
            done["_amount"].to_numpy(),
            done["_day"].to_numpy(),
            proc=done["ProcNum"].to_numpy(),
            prov=done["ProvNum"].to_numpy(),
            paytype=0,
            group=group,
        )
        self._prepaid = done.select("ProcNum", "_amount")

    def _ordinary(self, portions: pl.DataFrame) -> None:
        rng, p, defs = self.rng, self.p, self.ref.defs
        portions = portions.join(self._prepaid, on="ProcNum", how="left").with_columns(
            _final_due=(pl.col("_final_due") - pl.col("_amount").fill_null(0)).clip(lower_bound=0).round(2),
            _est_due=(pl.col("_est_due") - pl.col("_amount").fill_null(0)).clip(lower_bound=0).round(2),
        )
        n = portions.height
        payer = portions["_payer"].to_numpy()
        day = portions["_day"].to_numpy()
        known = portions["_known_day"].to_numpy()
        est_due = portions["_est_due"].to_numpy()
        final_due = portions["_final_due"].to_numpy()
        pat, proc, prov = (portions[c].to_numpy() for c in ("PatNum", "ProcNum", "ProvNum"))
        # prompt payers: the estimate at the visit, the difference after insurance pays
        prompt = payer == PROMPT
        at_visit = prompt & (est_due > 0) & (rng.random(n) < 0.92)
        first = np.where(at_visit, est_due, 0.0)
        rest = money(final_due - first)
        later = np.where(prompt, np.where(rest > 0, rest, 0.0), final_due)
        later_day = np.where(
            prompt, known + rng.integers(20, 46, n), np.maximum(day, known) + rng.integers(25, 51, n)
        )
        # slow payers: 2-4 monthly instalments; poor payers: part of it, late
        slow = payer == SLOW
        poor = payer == POOR
        poor_pays = poor & (rng.random(n) < 0.6)
        later = np.where(poor, np.where(poor_pays, money(final_due * rng.uniform(0, 0.5, n)), 0.0), later)
        later_day = np.where(poor, day + rng.integers(60, 121, n), later_day)
        self._split(pat[at_visit], first[at_visit], day[at_visit], proc[at_visit], prov[at_visit])
        # what is left is paid in monthly parts: statement payers 1-3, slow payers 3-6, others 1
        later = np.where(slow, final_due, later)
        later_day = np.where(slow, day + 40, later_day)
        parts = np.select(
            [payer == STATEMENT, slow],
            [rng.choice([1, 2, 3], n, p=[0.35, 0.4, 0.25]), rng.integers(3, 8, n)],
            1,
        )
        parts = np.where((later > 0) & (~prompt | (rng.random(n) < 0.95)), parts, 0)
        parent, i = explode_counts(parts)
        each = money(later[parent] / parts[parent])
        amount = np.where(i == parts[parent] - 1, money(later[parent] - each * (parts[parent] - 1)), each)
        inst_day = to_workday(later_day[parent] + 30 * i)
        keep = inst_day <= p.last
        self._split(pat[parent][keep], amount[keep], inst_day[keep], proc[parent][keep], prov[parent][keep])
        # finance charges while slow and poor payers owe; bad debt written off eventually
        months = np.where(slow, parts, np.where(poor, rng.integers(2, 7, n), 0))
        months = np.where(final_due >= 25, months, 0)
        fparent, m = explode_counts(months)
        f_day = to_workday(day[fparent] + 30 * (m + 1))
        owed = final_due[fparent] * (1 - m / (months[fparent] + 1))
        fkeep = f_day <= p.last
        guar = p.guarantor[pat[fparent] - 1]
        self._adjust(
            guar[fkeep],
            np.maximum(0.5, owed[fkeep] * 0.015),
            f_day[fkeep],
            defs.num("AdjTypes", "Finance Charge"),
        )
        bad = poor & (final_due - later > 0) & (rng.random(n) < 0.4)
        bad_day = to_workday(day + 200)
        bkeep = bad & (bad_day <= p.last)
        self._adjust(
            pat[bkeep],
            -(final_due[bkeep] - later[bkeep]),
            bad_day[bkeep],
            defs.num("AdjTypes", "Bad Debt Write-off"),
            proc[bkeep],
            prov[bkeep],
        )

    def _finish(self, plans: pl.DataFrame) -> None:
        tables = money_tables.build(
            self.splits,
            self.adjustments,
            plans,
            self.plans_paid_off,
            self.plan_charges,
            self.p,
            self.ref,
            self.rng,
        )
        self.payment, self.paysplit, self.adjustment, self.payplan, self.payplancharge = tables
