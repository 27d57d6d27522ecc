"""Patients in families, and who insures them (inssub, patplan).

A family is a guarantor (an adult; sometimes a parent who is not a patient) with a spouse and
children. Families join the practice over the years and some leave (attrition); everything a
patient does happens between their join and leave days. The per-patient behaviour knobs the
later modules use (perio, how much restorative work, how often they accept treatment, how they
pay) are drawn here, in `Patients`, so that they stay consistent across tables.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic.config import GeneratorConfig
from dental_etl.synthetic.pools import Pools, phone_numbers
from dental_etl.synthetic.rand import DAY, dates, datetimes, day_number, explode_counts, rng_for, to_workday
from dental_etl.synthetic.reference import Reference

FAMILY_SIZES = np.array([1, 2, 3, 4, 5])
FAMILY_WEIGHTS = np.array([0.40, 0.25, 0.16, 0.13, 0.06])


class Patients:
    """Per-patient arrays (index = PatNum - 1) plus the finished patient/inssub/patplan frames."""

    frame: pl.DataFrame  # the patient table, built by _patient_frame

    def __init__(self, config: GeneratorConfig, ref: Reference, pools: Pools) -> None:
        rng = rng_for(config.seed, "patients")
        n = config.patients
        today = day_number(config.today)
        self.today = today
        self.last = today - 1  # the last day with completed work; `today` itself is still ahead
        self.cap = today * DAY - 3_600  # no row was written after 23:00 yesterday (see timestamps.py)
        self.start = today - 365 * config.years
        span = self.last - self.start

        # families
        sizes = rng.choice(FAMILY_SIZES, size=n, p=FAMILY_WEIGHTS)
        sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
        sizes[-1] -= sizes.sum() - n
        fam, rank = explode_counts(sizes)
        n_fam = len(sizes)
        self.family = fam
        self.guarantor = (np.cumsum(sizes) - sizes)[fam] + 1
        is_guar = rank == 0
        has_spouse = (sizes >= 2) & (rng.random(n_fam) < 0.75)
        spouse = (rank == 1) & has_spouse[fam]
        child = ~is_guar & ~spouse
        self.is_guarantor = is_guar

        # when the family arrives and leaves; 2% of families are booked for their first visit
        # an established practice: part of the families were patients before the history starts
        # (their earlier visits are not in the database, as after a conversion)
        established = rng.random(n_fam) < 0.45
        fam_join = np.where(
            established,
            self.start - rng.integers(1, 6 * 365, n_fam),
            self.start + (rng.beta(1.0, 1.25, n_fam) * span).astype(np.int64),
        )
        prospective = rng.random(n_fam) < 0.02
        fam_join = np.where(prospective, today + rng.integers(1, 30, n_fam), fam_join)
        fam_join = to_workday(fam_join)
        fam_leave = fam_join + (rng.exponential(6.5, n_fam) * 365).astype(np.int64)
        age_today = np.where(child, rng.integers(1, 18, n), rng.integers(22, 86, n))
        birth = today - age_today * 365 - rng.integers(0, 365, n)
        join = np.maximum(fam_join[fam], birth + 3 * 365)
        self.join = to_workday(join)
        self.leave = fam_leave[fam]
        self.birth = birth
        self.child = child
        self.age_today = age_today

        # the family's guarantor is sometimes a parent who is not a patient; a few rows are duplicates
        non_patient = is_guar & (sizes[fam] >= 3) & ~has_spouse[fam] & (rng.random(n) < 0.5)
        deleted = rng.random(n) < 0.003
        self.has_visits = ~non_patient & ~deleted
        left = self.leave <= self.last
        status = np.zeros(n, dtype=np.int64)
        r = rng.random(n_fam)[fam]
        status = np.where(left & (r < 0.45), 2, status)  # Inactive
        status = np.where(left & (r >= 0.45) & (r < 0.50), 3, status)  # Archived
        deceased = left & (age_today > 70) & (rng.random(n) < 0.08)
        status = np.where(deceased, 5, status)
        status = np.where(non_patient, 1, status)
        status = np.where(deleted, 4, status)
        self.status = status

        # care and money behaviour
        self.clinic = rng.integers(1, config.clinics + 1, n_fam)[fam]
        # dentist and hygienist: assigned once the practice has hired (assign_providers)
        self.dentist = np.zeros(n, np.int64)
        self.hygienist = np.zeros(n, np.int64)
        self.perio = ~child & (rng.random(n) < 0.16 + 0.003 * np.maximum(age_today - 40, 0))
        self.caries_rate = rng.gamma(0.8, 0.7, n)  # restorative risk: P(findings at an exam) = 1 - exp(-rate)
        self.acceptance = rng.beta(6, 2.5, n)
        self.compliance = np.where(rng.random(n) < 0.3, rng.uniform(1.3, 2.6, n), rng.uniform(0.95, 1.1, n))
        self.payer = rng.choice(4, size=n_fam, p=[0.50, 0.30, 0.15, 0.05])[fam]  # prompt/statement/slow/poor
        senior = (age_today >= 65) & (rng.random(n) < 0.3)
        self.fee_sched = np.where(senior, ref.discount_sched, 0)
        self.fee_row = np.where(senior, ref.discount_sched, 1) - 1  # row of Reference.fees

        # insurance: primary for the family through the guarantor; some spouses bring a second plan
        n_plans = len(ref.plan_carrier)
        insured_fam = rng.random(n_fam) < 0.5
        plan1 = rng.integers(1, n_plans + 1, n_fam)
        second_fam = insured_fam & has_spouse & (rng.random(n_fam) < 0.15)
        plan2 = (plan1 + rng.integers(1, n_plans, n_fam) - 1) % n_plans + 1
        self.insured = insured_fam[fam]
        # uninsured families often join the office's membership plan: a discount on every procedure
        self.member = ~self.insured & (rng.random(n_fam) < 0.45)[fam]
        self._insurance(rng, fam, rank, sizes, insured_fam, plan1, second_fam, plan2, fam_join, fam_leave)
        self.plan_is_ppo = np.where(self.insured, ref.plan_is_ppo[np.maximum(self.plan, 1) - 1], False)
        self._patient_frame(config, ref, pools, rng, fam, rank, sizes, spouse, has_spouse)

    def assign_providers(self, ref: Reference, seed: int) -> None:
        """Each patient's dentist and hygienist: one of those serving the patient's clinic."""
        rng = rng_for(seed, "assign")
        n = len(self.clinic)
        u = rng.random(n)
        for mine, staff in ((self.dentist, ref.dentists), (self.hygienist, ref.hygienists)):
            for c in np.unique(self.clinic):
                here = np.array([s for s in staff if c in ref.serves[int(s)]], np.int64)
                at = self.clinic == c
                mine[at] = here[(u[at] * len(here)).astype(np.int64)]
        on_record = rng.random(n) < 0.6
        self.frame = self.frame.with_columns(
            PriProv=pl.Series(self.dentist), SecProv=pl.Series(np.where(on_record, self.hygienist, 0))
        )

    def _insurance(
        self, rng, fam, rank, sizes, insured_fam, plan1, second_fam, plan2, fam_join, fam_leave
    ) -> None:
        guar_idx = np.cumsum(sizes) - sizes  # patient index of each family's guarantor
        subs_fam = np.flatnonzero(insured_fam)
        sec_fam = np.flatnonzero(second_fam)
        sub_pat = np.r_[guar_idx[subs_fam], guar_idx[sec_fam] + 1] + 1
        sub_plan = np.r_[plan1[subs_fam], plan2[sec_fam]]
        sub_fam = np.r_[subs_fam, sec_fam]
        eff = fam_join[sub_fam] - rng.integers(0, 700, len(sub_fam))
        ended = fam_leave[sub_fam] <= self.last
        n_sub = len(sub_pat)
        order = np.argsort(eff, kind="stable")
        sub_num = np.empty(n_sub, dtype=np.int64)
        sub_num[order] = np.arange(1, n_sub + 1)
        self.inssub = pl.DataFrame(
            {
                "InsSubNum": sub_num,
                "PlanNum": sub_plan,
                "Subscriber": sub_pat,
                "DateEffective": dates(eff),
                "DateTerm": dates(np.where(ended, fam_leave[sub_fam], -719162)),
                "ReleaseInfo": 1,
                "AssignBen": 1,
                "SubscriberID": rng.integers(100_000_000, 999_999_999, n_sub).astype(str),
                "SecUserNumEntry": 1,
                "_entry": eff.astype(np.int64) * DAY + 36_000,
            }
        ).sort("InsSubNum")
        fam_primary_sub = np.zeros(len(sizes), dtype=np.int64)
        fam_primary_sub[subs_fam] = sub_num[: len(subs_fam)]
        fam_second_sub = np.zeros(len(sizes), dtype=np.int64)
        fam_second_sub[sec_fam] = sub_num[len(subs_fam) :]
        pats = np.flatnonzero(insured_fam[fam])
        # primary: everyone in an insured family; secondary: family members covered by the spouse's plan
        pp_pat = pats
        pp_sub = fam_primary_sub[fam[pats]]
        relat = np.where(rank[pats] == 0, 0, np.where(self.child[pats], 2, 1))
        ordinal = np.ones(len(pats), dtype=np.int64)
        sec = pats[second_fam[fam[pats]]]
        pp_pat = np.r_[pp_pat, sec]
        pp_sub = np.r_[pp_sub, fam_second_sub[fam[sec]]]
        relat = np.r_[relat, np.where(rank[sec] == 1, 0, np.where(self.child[sec], 2, 1))]
        ordinal = np.r_[ordinal, np.full(len(sec), 2)]
        # the spouse's own plan is their primary: swap ordinals for the spouse
        spouse_rows = np.r_[np.zeros(len(pats), bool), rank[sec] == 1]
        spouse_primary_rows = np.r_[(rank[pats] == 1) & second_fam[fam[pats]], np.zeros(len(sec), bool)]
        ordinal = np.where(spouse_rows, 1, np.where(spouse_primary_rows, 2, ordinal))
        entry = self.join[pp_pat].astype(np.int64) * DAY + 36_500
        self.patplan = (
            pl.DataFrame(
                {
                    "PatNum": pp_pat + 1,
                    "Ordinal": ordinal,
                    "Relationship": relat,
                    "InsSubNum": pp_sub,
                    "SecDateTEntry": datetimes(entry),
                    "_entry": entry,
                }
            )
            .sort("_entry", "PatNum", "Ordinal")
            .with_row_index("PatPlanNum", offset=1)
        )
        # each patient's primary and secondary coverage, as the claims will use it
        n = len(self.join)
        plan_of_sub = np.zeros(n_sub + 1, dtype=np.int64)
        plan_of_sub[sub_num] = sub_plan
        pp = self.patplan
        self.primary_sub = np.zeros(n, dtype=np.int64)
        self.second_sub = np.zeros(n, dtype=np.int64)
        targets: tuple[tuple[int, np.ndarray], ...] = ((1, self.primary_sub), (2, self.second_sub))
        for position, target in targets:
            rows = pp.filter(pl.col("Ordinal") == position)
            target[rows["PatNum"].to_numpy() - 1] = rows["InsSubNum"].to_numpy()
        self.plan = plan_of_sub[self.primary_sub]
        self.second_plan = plan_of_sub[self.second_sub]

    def _patient_frame(self, config, ref, pools, rng, fam, rank, sizes, spouse, has_spouse) -> None:
        n = len(fam)
        n_fam = len(sizes)
        female = np.where(spouse, rng.random(n) < 0.8, rng.random(n) < 0.52)
        gender = np.where(rng.random(n) < 0.005, 2, np.where(female, 1, 0))
        first = np.where(female, rng.choice(pools.first_female, n), rng.choice(pools.first_male, n))
        fam_last = rng.choice(pools.last, n_fam)
        last = np.where(rng.random(n) < 0.06, rng.choice(pools.last, n), fam_last[fam])
        position = np.where(
            self.child, 2, np.where(has_spouse[fam], 1, rng.choice([0, 3, 4], n, p=[0.7, 0.1, 0.2]))
        )
        street = rng.choice(pools.street, n_fam)[fam]
        place = rng.integers(0, len(pools.city), n_fam)[fam]
        home = phone_numbers(rng, n_fam)[fam]
        mobile = np.where(self.child & (self.age_today < 13), "", phone_numbers(rng, n))
        email = np.where(
            self.child,
            "",
            np.char.add(
                np.char.add(np.char.lower(first.astype(str)), "."),
                np.char.add(np.char.lower(last.astype(str)), "@example.com"),
            ),
        )
        # zero dates where old converted records lack them
        birth = np.where(rng.random(n) < 0.004, np.iinfo(np.int32).min, self.birth)
        entry_day = np.minimum(self.join - rng.integers(3, 30, n), self.last)
        self.entry_day = entry_day
        entry = entry_day.astype(np.int64) * DAY + rng.integers(8 * 3600, 17 * 3600, n)
        billing = np.full(n, ref.defs.num("BillingTypes", "Standard Account"))
        billing = np.where(
            self.insured & (rng.random(n) < 0.05), ref.defs.num("BillingTypes", "Insurance Only"), billing
        )
        billing = np.where(
            (self.payer == 3) & (rng.random(n) < 0.5), ref.defs.num("BillingTypes", "Collections"), billing
        )
        contact = rng.choice([2, 4, 5, 8], n, p=[0.15, 0.25, 0.2, 0.4])
        frame = pl.DataFrame(
            {
                "PatNum": np.arange(1, n + 1),
                "LName": last,
                "FName": first,
                "MiddleI": np.where(rng.random(n) < 0.3, rng.choice(list("ABCDEJKLMRST"), n), ""),
                "Preferred": np.where(rng.random(n) < 0.08, first, ""),
                "PatStatus": self.status,
                "Gender": gender,
                "Position": position,
                "_birth": birth,
                "SSN": np.char.add("9", rng.integers(10_000_000, 99_999_999, n).astype(str)),
                "Address": street,
                "City": pools.city[place],
                "State": pools.state[place],
                "Zip": pools.zip[place],
                "HmPhone": home,
                "WirelessPhone": mobile,
                "Email": email,
                "Guarantor": self.guarantor,
                "FeeSched": self.fee_sched,
                "BillingType": billing,
                "ClinicNum": self.clinic,
                "HasIns": np.where(self.insured, "I", ""),
                "Premed": (rng.random(n) < 0.03).astype(int),
                "PreferConfirmMethod": contact,
                "PreferContactMethod": contact,
                "PreferRecallMethod": contact,
                "TxtMsgOk": np.where(contact == 8, 1, rng.choice([0, 2], n)),
                "Language": np.where(rng.random(n) < 0.07, "spa", ""),
                "StudentStatus": np.where(self.child & (self.age_today >= 18), "F", ""),
                "SecUserNumEntry": rng.choice(ref.front_desk_users, n),
                "_entry": entry,
                "SecDateEntry": dates(entry // DAY),
                "DateTimeDeceased": datetimes(
                    np.where(self.status == 5, self.leave.astype(np.int64) * DAY, -62135596800)
                ),
                "_rank": rank,
            }
        )
        self.frame = frame.with_columns(
            Birthdate=pl.when(pl.col("_birth") == np.iinfo(np.int32).min)
            .then(None)
            .otherwise(pl.col("_birth"))
            .cast(pl.Int32)
            .cast(pl.Date)
        )
