"""The practice's setup tables: definitions, clinics, providers, operatories, staff and users,
fee schedules and fees, procedure codes, carriers, insurance plans and benefits, referral sources,
recall and appointment types. Small tables, built first; everything else refers to them."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from dental_etl.synthetic import catalog
from dental_etl.synthetic.config import GeneratorConfig
from dental_etl.synthetic.pools import Pools, phone_numbers
from dental_etl.synthetic.rand import rng_for


class Definitions:
    """DefNum lookups by category and item name: the data never hard-codes a DefNum."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._by_name: dict[tuple[int, str], int] = {}
        self._by_cat: dict[int, list[int]] = {}
        cat_numbers = {name: number for name, number, _ in catalog.DEFINITIONS}
        self._cat_numbers = cat_numbers
        for num, cat, name in frame.select("DefNum", "Category", "ItemName").iter_rows():
            self._by_name[(cat, name)] = num
            self._by_cat.setdefault(cat, []).append(num)

    def num(self, category: str, name: str) -> int:
        return self._by_name[(self._cat_numbers[category], name)]

    def nums(self, category: str, *names: str) -> np.ndarray:
        if not names:
            return np.array(self._by_cat[self._cat_numbers[category]], dtype=np.int64)
        return np.array([self.num(category, n) for n in names], dtype=np.int64)


def build_definitions() -> pl.DataFrame:
    rows = []
    for _, number, items in catalog.DEFINITIONS:
        for order, (name, value) in enumerate(items):
            rows.append((number, order, name, value))
    return pl.DataFrame(
        {
            "DefNum": np.arange(1, len(rows) + 1),
            "Category": [r[0] for r in rows],
            "ItemOrder": [r[1] for r in rows],
            "ItemName": [r[2] for r in rows],
            "ItemValue": [r[3] for r in rows],
            "ItemColor": [-(16_777_216 - (i * 2_654_435) % 16_777_216) for i in range(len(rows))],
        }
    )


class Reference:
    """The setup tables plus the lookups the simulation needs (numpy arrays indexed by code, plan ...).

    Providers, operatories and users are hired later (`hire`), once the patients are known: the
    roster follows the chair time the patients need (staffing.py).
    """

    def __init__(self, config: GeneratorConfig, pools: Pools) -> None:
        rng = rng_for(config.seed, "reference")
        self.config, self.pools = config, pools
        self.tables: dict[str, pl.DataFrame] = {}
        self.defs = Definitions(build_definitions())
        self.tables["definition"] = self.defs.frame
        self._employees(config, pools, rng)
        self._codes_and_fees(rng)
        self._insurance(config, pools, rng)
        self._sources(config, pools, rng)

    # -- people who work here ---------------------------------------------------------------------
    def _employees(self, config: GeneratorConfig, pools: Pools, rng: np.random.Generator) -> None:
        n_emp = max(6, math.ceil(config.patients / 1_000) + 4)
        self.tables["employee"] = pl.DataFrame(
            {
                "EmployeeNum": np.arange(1, n_emp + 1),
                "LName": rng.choice(pools.last, n_emp),
                "FName": rng.choice(pools.first_female, n_emp),
                "PayrollID": np.char.add("E", np.arange(1001, 1001 + n_emp).astype(str)),
                "PhoneExt": np.arange(101, 101 + n_emp),
                "ClockStatus": "Home",
                "ReportsTo": np.r_[0, np.ones(n_emp - 1, int)],
            }
        )
        self.n_emp = n_emp
        self.assistants = np.arange(1, n_emp + 1)[n_emp // 2 :]
        self.front_desk_users = np.arange(2, 2 + n_emp // 2)  # users: 1 Admin, then one per employee

    def hire(self, dentist_clinics: list[list[int]], hygienist_clinics: list[list[int]]) -> None:
        """Providers (each serving the listed clinics; one more dentist who left, hidden), the
        clinics, their operatories and the users (Admin, one per employee, one per provider)."""
        rng = rng_for(self.config.seed, "providers")
        defs, pools = self.defs, self.pools
        n_clinics = self.config.clinics
        n_dent, n_hyg = len(dentist_clinics), len(hygienist_clinics)
        n_prov = n_dent + n_hyg + 1  # the last one left the practice (hidden)
        is_dentist = np.array([True] * n_dent + [False] * n_hyg + [True])
        self.dentists = np.arange(1, n_dent + 1)
        self.hygienists = np.arange(n_dent + 1, n_dent + n_hyg + 1)
        self.serves = {i + 1: c for i, c in enumerate(dentist_clinics + hygienist_clinics)}
        specialty = np.where(
            is_dentist,
            defs.num("ProviderSpecialties", "General"),
            defs.num("ProviderSpecialties", "Hygienist"),
        )
        self.tables["provider"] = pl.DataFrame(
            {
                "ProvNum": np.arange(1, n_prov + 1),
                "Abbr": [("DR" if d else "HYG") + str(i + 1) for i, d in enumerate(is_dentist)],
                "ItemOrder": np.arange(n_prov),
                "LName": rng.choice(pools.last, n_prov),
                "FName": rng.choice(pools.first_female, n_prov),
                "Suffix": np.where(is_dentist, "DDS", "RDH"),
                "FeeSched": 1,  # the standard fee schedule (see _codes_and_fees)
                "Specialty": specialty,
                "IsSecondary": (~is_dentist).astype(int),
                "ProvColor": rng.integers(-16_777_216, -1, n_prov),
                "IsHidden": np.r_[np.zeros(n_prov - 1, int), 1],
                "SigOnFile": 1,
                "NationalProvID": rng.integers(1_000_000_000, 1_999_999_999, n_prov).astype(str),
                "HourlyProdGoalAmt": np.where(is_dentist, 500.0, 160.0),
            }
        )
        dent_here = [[d for d in self.dentists if c in self.serves[int(d)]] for c in range(1, n_clinics + 1)]
        hyg_here = [[h for h in self.hygienists if c in self.serves[int(h)]] for c in range(1, n_clinics + 1)]
        self.tables["clinic"] = pl.DataFrame(
            {
                "ClinicNum": np.arange(1, n_clinics + 1),
                "Description": [f"{pools.city[i % len(pools.city)]} Dental" for i in range(n_clinics)],
                "Abbr": [f"CL{i + 1}" for i in range(n_clinics)],
                "Address": pools.street[:n_clinics],
                "City": pools.city[:n_clinics],
                "State": pools.state[:n_clinics],
                "Zip": pools.zip[:n_clinics],
                "Phone": phone_numbers(rng, n_clinics),
                "DefaultProv": [int(d[0]) for d in dent_here],
                "Region": defs.nums("Regions")[np.arange(n_clinics) % 2],
                "ItemOrder": np.arange(n_clinics),
                "TimeZone": "Central Standard Time",
            }
        )
        # a chair per provider on a busy day plus a spare restorative one
        ops = []
        for c in range(1, n_clinics + 1):
            dents, hygs = dent_here[c - 1], hyg_here[c - 1]
            for j in range(len(dents) + 1):
                ops.append((c, f"Op {j + 1}", int(dents[j % len(dents)]), 0, 0))
            for j in range(len(hygs)):
                ops.append((c, f"Hyg {j + 1}", int(dents[0]), int(hygs[j]), 1))
        self.tables["operatory"] = pl.DataFrame(
            {
                "OperatoryNum": np.arange(1, len(ops) + 1),
                "OpName": [o[1] for o in ops],
                "Abbrev": [o[1].replace(" ", "") for o in ops],
                "ItemOrder": np.arange(len(ops)),
                "ProvDentist": [o[2] for o in ops],
                "ProvHygienist": [o[3] for o in ops],
                "IsHygiene": [o[4] for o in ops],
                "ClinicNum": [o[0] for o in ops],
                "OperatoryType": [
                    defs.num("OperatoryTypes", "Hygiene" if o[4] else "Restorative") for o in ops
                ],
            }
        )
        op_clinic = np.array([o[0] for o in ops])
        op_hyg = np.array([o[4] for o in ops])
        self.ops_dental = [
            np.flatnonzero((op_clinic == c) & (op_hyg == 0)) + 1 for c in range(1, n_clinics + 1)
        ]
        self.ops_hygiene = [
            np.flatnonzero((op_clinic == c) & (op_hyg == 1)) + 1 for c in range(1, n_clinics + 1)
        ]
        n_emp = self.n_emp
        user_emp = np.r_[0, np.arange(1, n_emp + 1), np.zeros(n_prov, int)]
        user_prov = np.r_[0, np.zeros(n_emp, int), np.arange(1, n_prov + 1)]
        names = (
            ["Admin"]
            + [f"staff{i}" for i in range(1, n_emp + 1)]
            + [f"prov{i}" for i in range(1, n_prov + 1)]
        )
        n_users = len(names)
        self.tables["userod"] = pl.DataFrame(
            {
                "UserNum": np.arange(1, n_users + 1),
                "UserName": names,
                "Password": np.char.add("xSHA512$", rng.integers(1 << 40, 1 << 48, n_users).astype(str)),
                "EmployeeNum": user_emp,
                "ProvNum": user_prov,
                "PasswordIsStrong": 1,
            }
        )
        self.clinical_users = np.arange(2 + n_emp // 2, n_users + 1)
        self.all_users = np.arange(1, n_users + 1)
        self.user_of_provider = {
            int(p): int(u) for p, u in zip(user_prov, np.arange(1, n_users + 1), strict=True) if p
        }

    # -- what things cost ------------------------------------------------------------------------
    def _codes_and_fees(self, rng: np.random.Generator) -> None:
        defs = self.defs
        codes = catalog.CODES
        n = len(codes)
        self.code_num = {c.code: i + 1 for i, c in enumerate(codes)}
        self.tables["procedurecode"] = pl.DataFrame(
            {
                "CodeNum": np.arange(1, n + 1),
                "ProcCode": [c.code for c in codes],
                "Descript": [c.descript for c in codes],
                "AbbrDesc": [c.abbr for c in codes],
                "ProcTime": [
                    "/" + "X" * max(1, c.minutes // 5 - 2) + "/" if c.minutes else "/" for c in codes
                ],
                "ProcCat": [defs.num("ProcCodeCats", c.category) for c in codes],
                "TreatArea": [c.treat_area for c in codes],
                "NoBillIns": [int(c.no_bill_ins) for c in codes],
                "IsProsth": [int(c.prosth) for c in codes],
                "IsHygiene": [int(c.hygiene) for c in codes],
                "PaintType": [c.paint for c in codes],
                "LaymanTerm": [c.abbr for c in codes],
                "BaseUnits": [c.base_units for c in codes],
                "IsRadiology": [int(c.code.startswith("D02") or c.code == "D0330") for c in codes],
            }
        )
        ucr = np.array([c.fee for c in codes])
        # fee schedules: 1 standard, 2 senior discount, then one per PPO network
        scheds = [("Standard", 0, 1.0), ("Senior Discount", 0, 0.85)] + [
            (name, 0, f) for name, f in catalog.PPO_SCHEDULES
        ]
        self.tables["feesched"] = pl.DataFrame(
            {
                "FeeSchedNum": np.arange(1, len(scheds) + 1),
                "Description": [s[0] for s in scheds],
                "FeeSchedType": [s[1] for s in scheds],
                "ItemOrder": np.arange(len(scheds)),
                "IsGlobal": 1,
            }
        )
        # fees[sched-1, code-1]: whole dollars below the standard schedule, as real fee schedules are
        fees = np.empty((len(scheds), n))
        for s, (_, _, factor) in enumerate(scheds):
            jitter = 1.0 if s < 2 else rng.uniform(0.95, 1.05, n)
            fees[s] = ucr if s == 0 else np.round(ucr * factor * jitter)
        self.fees = fees
        self.ucr = ucr
        self.ppo_scheds = np.arange(3, len(scheds) + 1)
        self.discount_sched = 2
        sched_idx, code_idx = np.divmod(np.arange(len(scheds) * n), n)
        self.tables["fee"] = pl.DataFrame(
            {
                "FeeNum": np.arange(1, len(sched_idx) + 1),
                "Amount": fees[sched_idx, code_idx],
                "FeeSched": sched_idx + 1,
                "CodeNum": code_idx + 1,
                "SecUserNumEntry": 1,
            }
        )
        self.coverage_percent = np.array([catalog.COVERAGE_PERCENT[c.coverage] for c in codes])
        self.code_class = np.array([("prev", "basic", "major", "none").index(c.coverage) for c in codes])
        self.code_minutes = np.array([c.minutes for c in codes])
        self.code_no_bill = np.array([c.no_bill_ins for c in codes])
        self.code_area = np.array([c.treat_area for c in codes])
        self.code_base_units = np.array([c.base_units for c in codes])
        self.code_hygiene = np.array([c.hygiene for c in codes])
        self.code_text = np.array([c.code for c in codes], dtype=object)
        self.code_abbr = np.array([c.abbr for c in codes], dtype=object)
        self.code_descript = np.array([c.descript for c in codes], dtype=object)

    # -- who pays --------------------------------------------------------------------------------
    def _insurance(self, config: GeneratorConfig, pools: Pools, rng: np.random.Generator) -> None:
        n_car = min(len(catalog.CARRIERS), max(5, config.patients // 300))
        self.tables["carrier"] = pl.DataFrame(
            {
                "CarrierNum": np.arange(1, n_car + 1),
                "CarrierName": list(catalog.CARRIERS[:n_car]),
                "Address": rng.choice(pools.street, n_car),
                "City": rng.choice(pools.city, n_car),
                "State": rng.choice(pools.state, n_car),
                "Zip": rng.choice(pools.zip, n_car),
                "Phone": phone_numbers(rng, n_car),
                "ElectID": rng.integers(10_000, 99_999, n_car).astype(str),
                "SecUserNumEntry": 1,
            }
        )
        n_plans = max(6, config.patients // 40)
        is_ppo = rng.random(n_plans) < 0.75
        plan_sched = np.where(is_ppo, rng.choice(self.ppo_scheds, n_plans), 0)
        self.plan_carrier = rng.integers(1, n_car + 1, n_plans)
        self.plan_sched = plan_sched
        self.plan_is_ppo = is_ppo
        self.plan_annual_max = rng.choice([1000.0, 1500.0, 2000.0, 2500.0], n_plans, p=[0.3, 0.4, 0.2, 0.1])
        # coinsurance per plan and coverage class (columns: prev, basic, major, none; covcat 1-3)
        self.plan_percent = np.column_stack(
            [
                rng.choice([100, 80], n_plans, p=[0.7, 0.3]),
                rng.choice([80, 70, 50], n_plans, p=[0.6, 0.25, 0.15]),
                rng.choice([50, 40], n_plans, p=[0.8, 0.2]),
                np.zeros(n_plans, dtype=np.int64),
            ]
        )
        self.tables["insplan"] = pl.DataFrame(
            {
                "PlanNum": np.arange(1, n_plans + 1),
                "GroupName": rng.choice(pools.company, n_plans),
                "GroupNum": rng.integers(100_000, 999_999, n_plans).astype(str),
                "FeeSched": plan_sched,
                "PlanType": np.where(is_ppo, "p", ""),
                "CarrierNum": self.plan_carrier,
                "MonthRenew": 0,
                "SecUserNumEntry": 1,
            }
        )
        # per plan: annual max, deductible, three coinsurance categories, a bitewing frequency limit
        per_plan = 6
        plan = np.repeat(np.arange(1, n_plans + 1), per_plan)
        kind = np.tile(np.arange(per_plan), n_plans)
        self.tables["benefit"] = pl.DataFrame(
            {
                "BenefitNum": np.arange(1, len(plan) + 1),
                "PlanNum": plan,
                "CovCatNum": np.select([kind == 2, kind == 3, kind == 4], [1, 2, 3], 0),
                "BenefitType": np.select([kind == 0, kind == 1, kind == 5], [5, 2, 5], 1),
                "Percent": np.select(
                    [kind == 2, kind == 3, kind == 4],
                    [
                        self.plan_percent[plan - 1, 0],
                        self.plan_percent[plan - 1, 1],
                        self.plan_percent[plan - 1, 2],
                    ],
                    -1,
                ),
                "MonetaryAmt": np.select(
                    [kind == 0, kind == 1], [self.plan_annual_max[plan - 1], 50.0], -1.0
                ),
                "TimePeriod": np.select([kind == 0, kind == 1], [2, 2], 0),
                "QuantityQualifier": np.where(kind == 5, 1, 0),
                "Quantity": np.where(kind == 5, 1, 0),
                "CodeNum": np.where(kind == 5, self.code_num["D0274"], 0),
                "CoverageLevel": np.where(kind <= 1, 1, 0),
            }
        )

    # -- how patients find us --------------------------------------------------------------------
    def _sources(self, config: GeneratorConfig, pools: Pools, rng: np.random.Generator) -> None:
        defs = self.defs
        named = ["Google Search", "Practice Website", "Facebook", "Insurance Directory", "Yelp", "Drive By"]
        n_docs = max(4, config.patients // 60)
        n = len(named) + n_docs
        is_doc = np.r_[np.zeros(len(named), bool), np.ones(n_docs, bool)]
        specialties = defs.nums(
            "ProviderSpecialties", "Endodontics", "Orthodontics", "Oral Surgery", "Periodontics", "Pediatric"
        )
        self.tables["referral"] = pl.DataFrame(
            {
                "ReferralNum": np.arange(1, n + 1),
                "LName": np.r_[np.array(named, dtype=object), rng.choice(pools.last, n_docs)],
                "FName": np.r_[np.full(len(named), "", dtype=object), rng.choice(pools.first_male, n_docs)],
                "Specialty": np.where(is_doc, rng.choice(specialties, n), 0),
                "ST": np.where(is_doc, rng.choice(pools.state, n), ""),
                "Telephone": np.where(is_doc, rng.integers(2_015_550_100, 2_015_550_199, n).astype(str), ""),
                "NotPerson": (~is_doc).astype(int),
                "IsDoctor": is_doc.astype(int),
                "Title": np.where(is_doc, "DDS", ""),
                "BusinessName": np.where(
                    is_doc, np.char.add(rng.choice(pools.last, n).astype(str), " Dental Specialists"), ""
                ),
            }
        )
        self.referral_sources = np.arange(1, len(named) + 1)
        self.referral_doctors = np.arange(len(named) + 1, n + 1)
        self.tables["recalltype"] = pl.DataFrame(
            {
                "RecallTypeNum": np.arange(1, len(catalog.RECALL_TYPES) + 1),
                "Description": [r[0] for r in catalog.RECALL_TYPES],
                "DefaultInterval": [r[1] for r in catalog.RECALL_TYPES],
                "TimePattern": [r[2] for r in catalog.RECALL_TYPES],
                "Procedures": [r[3] for r in catalog.RECALL_TYPES],
            }
        )
        self.recall_type = {r[0]: i + 1 for i, r in enumerate(catalog.RECALL_TYPES)}
        blockouts = ",".join(str(x) for x in defs.nums("BlockoutTypes", "Emergency Slot"))
        self.tables["appointmenttype"] = pl.DataFrame(
            {
                "AppointmentTypeNum": np.arange(1, len(catalog.APPOINTMENT_TYPES) + 1),
                "AppointmentTypeName": [a[0] for a in catalog.APPOINTMENT_TYPES],
                "AppointmentTypeColor": [
                    -16_711_936 + 4_000 * i for i in range(len(catalog.APPOINTMENT_TYPES))
                ],
                "ItemOrder": np.arange(len(catalog.APPOINTMENT_TYPES)),
                "CodeStr": [a[1] for a in catalog.APPOINTMENT_TYPES],
                "BlockoutTypes": ["", "", "", blockouts, ""],
            }
        )
        self.appt_type = {a[0]: i + 1 for i, a in enumerate(catalog.APPOINTMENT_TYPES)}
