"""Runs the clinical simulation (visits -> procedures -> appointments) and finishes the
procedurelog, appointment, histappointment and entrylog tables."""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic import appointments, catalog, procedures, visits
from dental_etl.synthetic.config import GeneratorConfig
from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, NO_DAY, dates, datetimes, rng_for
from dental_etl.synthetic.reference import Reference
from dental_etl.synthetic.staffing import Calendar

DIAGNOSIS_BY_CATEGORY = {
    "Fillings": "Caries",
    "Crowns": "Fractured Tooth",
    "Root Canals": "Abscess",
    "Periodontics": "Periodontal Disease",
    "Oral Surgery": "Abscess",
    "Implants": "Missing Tooth",
    "Prosthodontics": "Missing Tooth",
    "Cleanings": "Caries",
    "Misc": "Worn Restoration",
    "Exams & Xrays": "Caries",
}


class Clinical:
    """visits (numbered, with times) and procs (numbered), plus the finished tables."""

    def __init__(self, config: GeneratorConfig, p: Patients, ref: Reference, cal: Calendar) -> None:
        seed = config.seed
        v = visits.base_visits(p, rng_for(seed, "visits"), cal)
        found, new_visits = procedures.findings(v, p, rng_for(seed, "findings"), cal)
        v = pl.concat([v, new_visits.select(v.columns)])
        v = visits.add_breaks(v, p, rng_for(seed, "breaks"), cal)
        # restorative visits broken and never rebooked: their procedures stay planned, attached
        dropped = v.filter((pl.col("_kind") == "R") & (pl.col("_form") == visits.NOT_REBOOKED))["_vid"]
        found = found.with_columns(
            ProcStatus=pl.when(pl.col("_vid").is_in(dropped.implode()))
            .then(procedures.TP)
            .otherwise(pl.col("ProcStatus"))
        )
        v = visits.booking_times(v, p, rng_for(seed, "booking"))
        procs = pl.concat(
            [
                procedures.routine(v, p, rng_for(seed, "routine")),
                found,
                procedures.existing(v, p, rng_for(seed, "existing")),
                procedures.broken_charges(v, p, rng_for(seed, "broken")),
                procedures.membership_fees(p, rng_for(seed, "membership")),
            ]
        )
        v = appointments.number(v)
        apt_of = v.select("_vid", "AptNum")
        procs = self._number_procs(procs, apt_of, v, p, ref, rng_for(seed, "procs"))
        minutes = procs.filter(pl.col("_vid") > 0).group_by("_vid").agg(_minutes=pl.col("_minutes").sum())
        v = appointments.times(v, minutes, p, cal, rng_for(seed, "times"))
        v = v.join(appointments.descriptions(procs, ref), on="_vid", how="left").with_columns(
            pl.col("ProcDescript", "ProcsColored").fill_null("")
        )
        self.visits = v
        appts = appointments.appointment_table(v, p, ref, rng_for(seed, "appointment"))
        self.appointments = appts
        self.history = appointments.history(v, appts, ref, p.cap, rng_for(seed, "history"))
        self.entry_log = appointments.entry_log(v, ref, rng_for(seed, "entrylog"))
        self.procs = procs

    @staticmethod
    def _number_procs(
        procs: pl.DataFrame,
        apt_of: pl.DataFrame,
        v: pl.DataFrame,
        p: Patients,
        ref: Reference,
        rng: np.random.Generator,
    ) -> pl.DataFrame:
        procs = (
            procs.sort("_entry", "PatNum", "_vid", "_code")
            .with_row_index("ProcNum", offset=1)
            .with_columns(pl.col("ProcNum").cast(pl.Int64))
        )
        procs = procs.join(apt_of, on="_vid", how="left").with_columns(pl.col("AptNum").fill_null(0))
        planned = apt_of.rename({"_vid": "_planned_vid", "AptNum": "PlannedAptNum"})
        procs = procs.join(planned, on="_planned_vid", how="left").with_columns(
            pl.col("PlannedAptNum").fill_null(0)
        )
        # routine procedures were planned when the appointment was booked
        booked = v.select("_vid", (pl.col("_book") // DAY).alias("_book_day"))
        procs = procs.join(booked, on="_vid", how="left").sort("ProcNum")
        n = procs.height
        code = procs["_code"].to_numpy()
        pat = procs["PatNum"].to_numpy() - 1
        status = procs["ProcStatus"].to_numpy()
        day = procs["_day"].to_numpy()
        tp_day = procs["_tp_day"].to_numpy()
        finding = procs["_finding"].to_numpy()
        book_day = procs["_book_day"].fill_null(NO_DAY).to_numpy()
        tp_day = np.where(
            ~finding & (tp_day == NO_DAY) & (status <= 2) & (book_day != NO_DAY), book_day, tp_day
        )
        fee = ref.fees[p.fee_row[pat], code]
        fee = np.where(status == procedures.CONDITION, 0.0, fee)
        units = procs["UnitQty"].to_numpy()
        base_units = ref.code_base_units[code]
        old = (
            (status == procedures.DONE) & (day < p.start + 365) & (base_units == 0) & (rng.random(n) < 0.004)
        )
        units = np.where(old, 0, units)
        cats = [c.category for c in catalog.CODES]
        dx_by_code = np.array([ref.defs.num("Diagnosis", DIAGNOSIS_BY_CATEGORY[c]) for c in cats])
        dx = np.where(finding & (rng.random(n) < 0.7), dx_by_code[code], 0)
        priority = np.where(finding & (rng.random(n) < 0.6), rng.choice(ref.defs.nums("TxPriorities"), n), 0)
        prognosis = np.where(finding & (rng.random(n) < 0.1), rng.choice(ref.defs.nums("Prognosis"), n), 0)
        done = status == procedures.DONE
        entry_user = np.where(done, rng.choice(ref.clinical_users, n), rng.choice(ref.all_users, n))
        complete_sec = day.astype(np.int64) * DAY + 16 * 3600 + rng.integers(0, 7200, n)
        return procs.with_columns(
            ProcDate=dates(day),
            ProcFee=pl.Series(fee),
            UnitQty=pl.Series(units),
            BaseUnits=pl.Series(base_units),
            CodeNum=pl.Series(code + 1),
            ClinicNum=pl.Series(p.clinic[pat]),
            DateTP=pl.when(pl.Series(tp_day) == np.iinfo(np.int32).min)
            .then(None)
            .otherwise(pl.Series(tp_day))
            .cast(pl.Int32)
            .cast(pl.Date),
            DateEntryC=dates(np.where(done, day, NO_DAY)),
            DateComplete=dates(np.where(done, day, NO_DAY)),
            Dx=pl.Series(dx),
            Priority=pl.Series(priority),
            Prognosis=pl.Series(prognosis),
            SecUserNumEntry=pl.Series(entry_user),
            SecDateEntry=datetimes(procs["_entry"]),
            _minutes=pl.Series(ref.code_minutes[code] * np.maximum(units, 1)),
            _abbr=pl.Series(ref.code_abbr[code]),
            _edit=pl.Series(np.where(done, complete_sec, procs["_entry"].to_numpy())),
        )
