"""Claims, claimprocs and insurance checks.

Completed, billable procedures of insured patients are sent on one primary claim per patient and
day. PPO plans allow their fee schedule's amount (the difference is the write-off); category
plans allow the full fee. Insurance pays a coverage percentage of the allowed amount after a
yearly deductible, up to the plan's annual maximum. Claims received by yesterday have Received
claimprocs (InsPayAmt, WriteOff, DateCP); the rest are NotReceived with estimates. Some received
procedures get a Supplemental payment later; planned procedures carry Estimate claimprocs.
Received payments are grouped into checks per carrier, clinic and day (claimpayment); the most
recent ones are not yet on a check (ClaimPaymentNum = 0).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, NO_DAY, dates, money, to_workday
from dental_etl.synthetic.reference import Reference

NOT_RECEIVED, RECEIVED, SUPPLEMENTAL, ESTIMATE = 0, 1, 4, 6
BLANK = -1  # claimproc override columns: "not set"


def _estimates(procs: pl.DataFrame, p: Patients, ref: Reference) -> pl.DataFrame:
    """Per procedure: fee billed, allowed, write-off estimate, deductible and insurance estimate."""
    pat = procs["PatNum"].to_numpy() - 1
    code = procs["CodeNum"].to_numpy() - 1
    plan = p.plan[pat]
    sched = ref.plan_sched[plan - 1]
    units = np.maximum(procs["UnitQty"].to_numpy() + procs["BaseUnits"].to_numpy(), 1)
    billed = money(procs["ProcFee"].to_numpy() * units)
    allowed = np.where(sched > 0, ref.fees[np.maximum(sched, 1) - 1, code] * units, billed)
    allowed = np.minimum(allowed, billed)
    pct = ref.plan_percent[plan - 1, ref.code_class[code]]
    year = procs["ProcDate"].dt.year().to_numpy()
    frame = (
        procs.select("ProcNum", "PatNum", "ProcDate", "ProvNum", "ClinicNum", "CodeNum", "ProcStatus")
        .with_columns(
            _plan=pl.Series(plan),
            _billed=pl.Series(billed),
            _allowed=pl.Series(money(allowed)),
            _wo=pl.Series(money(billed - allowed)),
            _pct=pl.Series(pct),
            _year=pl.Series(year),
            _max=pl.Series(ref.plan_annual_max[plan - 1]),
            _needs_ded=pl.Series(pct < 100),
        )
        .sort("PatNum", "ProcDate", "ProcNum")
    )
    frame = frame.with_columns(
        _ded=pl.when(
            pl.col("_needs_ded")
            & (pl.col("ProcNum").rank("ordinal").over("PatNum", "_year", "_needs_ded") == 1)
        )
        .then(pl.min_horizontal(pl.lit(50.0), pl.col("_allowed")))
        .otherwise(0.0)
    )
    frame = frame.with_columns(_raw=((pl.col("_allowed") - pl.col("_ded")) * pl.col("_pct") / 100).round(2))
    # annual maximum: what is left of it for this procedure
    frame = frame.with_columns(_before=pl.col("_raw").cum_sum().over("PatNum", "_year") - pl.col("_raw"))
    return frame.with_columns(
        _est=pl.min_horizontal(
            pl.col("_raw"), (pl.col("_max") - pl.col("_before")).clip(lower_bound=0)
        ).round(2)
    )


def build(
    procs: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator
) -> dict[str, pl.DataFrame]:
    """claim, claimproc and claimpayment frames, plus `_patient_part` per procedure for the money module."""
    pat_all = procs["PatNum"].to_numpy() - 1
    code_all = procs["CodeNum"].to_numpy() - 1
    billable = (
        p.insured[pat_all]
        & ~ref.code_no_bill[code_all]
        & (ref.coverage_percent[code_all] > 0)
        & (procs["ProcFee"].to_numpy() > 0)
    )
    status = procs["ProcStatus"].to_numpy()
    done = procs.filter(pl.Series(billable & (status == 2)))
    planned = procs.filter(pl.Series(billable & (status == 1)))
    est = _estimates(done, p, ref)

    # claims: one per patient and service day, numbered in the order they were created
    claims = est.group_by("PatNum", "ProcDate").agg(_first=pl.col("ProcNum").min()).sort("ProcDate", "_first")
    n = claims.height
    service = claims["ProcDate"].cast(pl.Int32).to_numpy().astype(np.int64)
    sent = to_workday(service + rng.integers(0, 4, n))
    received = to_workday(sent + 7 + rng.gamma(2.0, 8.0, n).astype(np.int64))
    is_sent = sent <= p.last
    is_received = is_sent & (received <= p.last)
    denied = is_received & (rng.random(n) < 0.04)
    claim_status = np.where(is_received, "R", np.where(is_sent, "S", np.where(rng.random(n) < 0.5, "W", "U")))
    unsent_zero = ~is_sent & (rng.random(n) < 0.3)
    claims = claims.with_row_index("ClaimNum", offset=1).with_columns(
        pl.col("ClaimNum").cast(pl.Int64),
        _sent=pl.Series(sent),
        _received=pl.Series(received),
        _is_sent=pl.Series(is_sent),
        _is_received=pl.Series(is_received),
        _denied=pl.Series(denied),
        ClaimStatus=pl.Series(claim_status),
        _unsent_zero=pl.Series(unsent_zero),
    )
    cp = est.join(
        claims.select("PatNum", "ProcDate", "ClaimNum", "_received", "_is_received", "_denied", "_sent"),
        on=["PatNum", "ProcDate"],
    )
    m = cp.height
    r = rng.random(m)
    est_amt = cp["_est"].to_numpy()
    paid = np.where(r < 0.9, est_amt, money(est_amt * rng.uniform(0.6, 0.95, m)))
    rec = cp["_is_received"].to_numpy()
    paid = np.where(rec & ~cp["_denied"].to_numpy(), paid, 0.0)
    pday = cp["ProcDate"].cast(pl.Int32).to_numpy()
    cp = cp.with_columns(
        Status=pl.Series(np.where(rec, RECEIVED, NOT_RECEIVED)),
        InsPayAmt=pl.Series(paid),
        WriteOff=pl.col("_wo"),
        _cp_day=pl.Series(np.where(rec, cp["_received"].to_numpy(), pday)),
        _entry_day=pl.col("_sent").clip(upper_bound=p.last),
    )
    # supplemental payments on a few received procedures
    sup_mask = rec & ~cp["_denied"].to_numpy() & (rng.random(m) < 0.03)
    sup_day = to_workday(cp["_received"].to_numpy() + rng.integers(20, 90, m))
    sup_mask &= sup_day <= p.last
    sup = cp.filter(pl.Series(sup_mask)).with_columns(
        Status=pl.lit(SUPPLEMENTAL),
        InsPayAmt=(pl.col("_billed") * 0.12).round(2),
        WriteOff=pl.lit(0.0),
        _billed=pl.lit(0.0),
        _est=pl.lit(0.0),
        _ded=pl.lit(0.0),
        _wo=pl.lit(0.0),
        _cp_day=pl.Series(sup_day[sup_mask]),
        _entry_day=pl.Series(sup_day[sup_mask]),
    )
    # estimates on planned work
    tp = _estimates(planned, p, ref).with_columns(
        Status=pl.lit(ESTIMATE),
        InsPayAmt=pl.lit(0.0),
        WriteOff=pl.lit(0.0),
        ClaimNum=pl.lit(0, pl.Int64),
        _cp_day=pl.col("ProcDate").cast(pl.Int32).cast(pl.Int64),
        _entry_day=pl.col("ProcDate").cast(pl.Int32).cast(pl.Int64).clip(upper_bound=p.last),
        _is_received=pl.lit(False),
    )
    allcp = pl.concat([cp, sup, tp], how="diagonal_relaxed")
    allcp = (
        allcp.sort("_entry_day", "ProcNum", "Status")
        .with_row_index("ClaimProcNum", offset=1)
        .with_columns(pl.col("ClaimProcNum").cast(pl.Int64))
    )
    allcp, checks = _checks(allcp, p, ref, rng)
    claim_frame = _claim_table(claims, allcp, p, ref, rng)
    return {
        "claim": claim_frame,
        "claimproc": _claimproc_table(allcp, p, ref, rng),
        "claimpayment": checks,
        "_ins": allcp,
    }


def _checks(
    cp: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    pat = cp["PatNum"].to_numpy() - 1
    carrier = ref.plan_carrier[p.plan[pat] - 1]
    paid_status = cp["Status"].is_in([RECEIVED, SUPPLEMENTAL]).to_numpy()
    recent = cp["_cp_day"].to_numpy() > p.last - 10
    claim_r = rng.random(int(cp["ClaimNum"].max() or 0) + 1)  # type: ignore[arg-type]
    waiting = recent & (claim_r[cp["ClaimNum"].to_numpy()] < 0.5)
    on_check = paid_status & ~waiting
    cp = cp.with_columns(
        _carrier=pl.Series(carrier), _clinic=pl.Series(p.clinic[pat]), _on_check=pl.Series(on_check)
    )
    groups = (
        cp.filter("_on_check")
        .group_by("_carrier", "_clinic", "_cp_day")
        .agg(CheckAmt=pl.col("InsPayAmt").sum().round(2))
        .sort("_cp_day", "_carrier", "_clinic")
        .with_row_index("ClaimPaymentNum", offset=1)
        .with_columns(pl.col("ClaimPaymentNum").cast(pl.Int64))
    )
    cp = cp.join(
        groups.select("_carrier", "_clinic", "_cp_day", "ClaimPaymentNum"),
        on=["_carrier", "_clinic", "_cp_day"],
        how="left",
    )
    cp = cp.with_columns(ClaimPaymentNum=pl.when("_on_check").then(pl.col("ClaimPaymentNum")).otherwise(0))
    k = groups.height
    day = groups["_cp_day"].to_numpy()
    eft = rng.random(k) < 0.55
    checks = groups.select("ClaimPaymentNum", "CheckAmt").with_columns(
        CheckDate=dates(day),
        DateIssued=dates(day - rng.integers(2, 6, k)),
        CheckNum=pl.Series(
            np.where(
                eft,
                np.char.add("EFT", rng.integers(10**7, 10**8, k).astype(str)),
                rng.integers(100_000, 999_999, k).astype(str),
            )
        ),
        ClinicNum=groups["_clinic"],
        CarrierName=pl.Series(
            ref.tables["carrier"]["CarrierName"].to_numpy()[groups["_carrier"].to_numpy() - 1]
        ),
        PayType=pl.Series(
            np.where(
                eft,
                ref.defs.num("InsurancePaymentType", "EFT"),
                ref.defs.num("InsurancePaymentType", "Check"),
            )
        ),
        PayGroup=pl.lit(ref.defs.num("ClaimPaymentGroups", "Default")),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, k)),
        SecDateEntry=dates(day),
        _edit=pl.Series(day.astype(np.int64) * DAY + 15 * 3600),
    )
    return cp, checks


def _claimproc_table(cp: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator) -> pl.DataFrame:
    m = cp.height
    pat = cp["PatNum"].to_numpy() - 1
    status = cp["Status"].to_numpy()
    line = cp.select(pl.col("ProcNum").rank("dense").over("ClaimNum")).to_series().to_numpy()
    tracking = np.where(
        (status == RECEIVED) & (rng.random(m) < 0.3), rng.choice(ref.defs.nums("ClaimPaymentTracking"), m), 0
    )
    sub = p.primary_sub[pat]
    entry = cp["_entry_day"].to_numpy()
    cp_day = cp["_cp_day"].to_numpy()
    return cp.with_columns(
        FeeBilled=pl.col("_billed"),
        InsPayEst=pl.when(pl.col("Status") == SUPPLEMENTAL).then(0.0).otherwise(pl.col("_est")),
        DedApplied=pl.when(pl.col("Status") == RECEIVED).then(pl.col("_ded")).otherwise(0.0),
        PlanNum=pl.Series(p.plan[pat]),
        DateCP=dates(cp_day),
        CodeSent=pl.Series(ref.code_text[cp["CodeNum"].to_numpy() - 1]),
        AllowedOverride=pl.lit(float(BLANK)),
        Percentage=pl.col("_pct"),
        PercentOverride=pl.lit(BLANK),
        CopayAmt=pl.lit(float(BLANK)),
        PaidOtherIns=pl.lit(0.0),
        BaseEst=pl.col("_est"),
        CopayOverride=pl.lit(float(BLANK)),
        DateEntry=dates(entry),
        LineNumber=pl.Series(np.where(cp["ClaimNum"].to_numpy() > 0, line, 0)),
        DedEst=pl.col("_ded"),
        DedEstOverride=pl.lit(float(BLANK)),
        InsEstTotal=pl.col("_est"),
        InsEstTotalOverride=pl.lit(float(BLANK)),
        PaidOtherInsOverride=pl.lit(float(BLANK)),
        WriteOffEst=pl.col("_wo"),
        WriteOffEstOverride=pl.lit(float(BLANK)),
        InsSubNum=pl.Series(sub),
        ClaimPaymentTracking=pl.Series(tracking),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, m)),
        SecDateEntry=dates(entry),
        DateInsFinalized=dates(np.where(status == RECEIVED, cp_day, NO_DAY)),
        DateSuppReceived=dates(np.where(status == SUPPLEMENTAL, cp_day, NO_DAY)),
        _edit=pl.Series(np.maximum(entry, cp_day).astype(np.int64) * DAY + 14 * 3600),
    ).drop("CodeNum", "ProcStatus")


def _claim_table(
    claims: pl.DataFrame, cp: pl.DataFrame, p: Patients, ref: Reference, rng: np.random.Generator
) -> pl.DataFrame:
    sums = (
        cp.filter(pl.col("ClaimNum") > 0)
        .group_by("ClaimNum")
        .agg(
            ClaimFee=pl.col("_billed").sum().round(2),
            InsPayEst=pl.col("_est").sum().round(2),
            InsPayAmt=pl.col("InsPayAmt").sum().round(2),
            WriteOff=pl.col("WriteOff").sum().round(2),
            DedApplied=pl.col("_ded").sum().round(2),
            ProvTreat=pl.col("ProvNum").first(),
            _clinic=pl.col("ClinicNum").first(),
        )
    )
    c = claims.join(sums, on="ClaimNum").sort("ClaimNum")
    n = c.height
    pat = c["PatNum"].to_numpy() - 1
    sent = c["_sent"].to_numpy()
    is_sent = c["_is_sent"].to_numpy()
    received = c["_received"].to_numpy()
    is_received = c["_is_received"].to_numpy()
    date_sent = np.where(
        is_sent, sent, np.where(c["_unsent_zero"].to_numpy(), np.iinfo(np.int32).min, NO_DAY)
    )
    relat = np.where(p.is_guarantor[pat], 0, np.where(p.child[pat], 2, 1))
    return c.with_columns(
        DateService=pl.col("ProcDate"),
        DateSent=pl.when(pl.Series(date_sent) == np.iinfo(np.int32).min)
        .then(None)
        .otherwise(pl.Series(date_sent))
        .cast(pl.Int32)
        .cast(pl.Date),
        DateReceived=dates(np.where(is_received, received, NO_DAY)),
        DateSentOrig=dates(np.where(is_sent, sent, NO_DAY)),
        PlanNum=pl.Series(p.plan[pat]),
        ClaimType=pl.lit("P"),
        ProvBill=pl.col("ProvTreat"),
        PatRelat=pl.Series(relat),
        InsSubNum=pl.Series(p.primary_sub[pat]),
        ClinicNum=pl.col("_clinic"),
        EmployRelated=pl.lit(2),
        IsProsthesis=pl.lit("N"),
        ReasonUnderPaid=pl.when("_denied").then(pl.lit("Frequency limitation")).otherwise(pl.lit("")),
        AttachedFlags=pl.Series(np.where(rng.random(n) < 0.85, "Elect", "Mail")),
        ClaimIdentifier=pl.format("{}/{}", pl.col("PatNum"), pl.col("ClaimNum")),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, n)),
        SecDateEntry=dates(np.minimum(sent, p.last)),
        _edit=pl.Series(
            np.where(is_received, received, np.minimum(sent, p.last)).astype(np.int64) * DAY + 14 * 3600
        ),
    ).drop("ProcDate")
