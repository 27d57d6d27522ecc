"""Money frames -> the payment, paysplit, adjustment, payplan and payplancharge tables.

Splits become payments by family, day and kind (ordinary, income transfer, recurring charge);
everything is numbered in date order, as AUTO_INCREMENT would have."""

from __future__ import annotations

import numpy as np
import polars as pl

from dental_etl.synthetic.people import Patients
from dental_etl.synthetic.rand import DAY, dates, datetimes, pick
from dental_etl.synthetic.reference import Reference

RECURRING = -2  # _paytype marker: a recurring credit-card charge


def build(
    splits_parts: list[pl.DataFrame],
    adjustment_parts: list[pl.DataFrame],
    plans: pl.DataFrame,
    paid_off: pl.DataFrame,
    plan_charges: pl.DataFrame,
    p: Patients,
    ref: Reference,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    defs = ref.defs
    splits = pl.concat(splits_parts).filter(pl.col("SplitAmt") != 0)
    splits = splits.with_columns(_guar=pl.Series(p.guarantor[splits["PatNum"].to_numpy() - 1]))
    # one payment per family, day and kind (ordinary payments vs income transfers)
    key = ["_guar", "_day", "_group", "_paytype"]
    pays = (
        splits.group_by(key)
        .agg(PayAmt=pl.col("SplitAmt").sum().round(2), _n=pl.len())
        .sort("_day", "_guar", "_group")
    )
    pays = pays.with_row_index("PayNum", offset=1).with_columns(pl.col("PayNum").cast(pl.Int64))
    k = pays.height
    ptype = pick(
        rng,
        defs.nums(
            "PaymentTypes", "Credit Card", "Check", "Cash", "Debit Card", "CareCredit", "Online Payment"
        ),
        [45, 20, 15, 10, 5, 5],
        k,
    )
    recurring = pays["_paytype"].to_numpy() == RECURRING
    ptype = np.where(pays["_paytype"].to_numpy() == 0, 0, ptype)
    ptype = np.where(recurring, defs.num("PaymentTypes", "Credit Card"), ptype)
    is_check = ptype == defs.num("PaymentTypes", "Check")
    pay_day = pays["_day"].to_numpy()
    entry_day = np.minimum(pay_day + (rng.random(k) < 0.05), p.last)
    guar = pays["_guar"].to_numpy()
    payment = pays.with_columns(
        PayType=pl.Series(ptype),
        PayDate=dates(pay_day),
        CheckNum=pl.Series(np.where(is_check, rng.integers(1000, 9999, k).astype(str), "")),
        PayNote=pl.Series(
            np.where(
                ptype == 0,
                "Income transfer",
                np.where(rng.random(k) < 0.05, "Paid at front desk\r\nthank you", ""),
            )
        ),
        PatNum=pl.col("_guar"),
        ClinicNum=pl.Series(p.clinic[guar - 1]),
        DateEntry=dates(entry_day),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, k)),
        IsRecurringCC=pl.Series(recurring.astype(int)),
        _edit=pl.Series(entry_day.astype(np.int64) * DAY + 9 * 3600 + rng.integers(0, 8 * 3600, k)),
    )
    splits = splits.join(pays.select(*key, "PayNum"), on=key, how="left")
    splits = splits.sort("PayNum", "ProcNum").with_row_index("SplitNum", offset=1)
    s_pat = splits["PatNum"].to_numpy()
    n = splits.height
    s_day = splits["_day"].to_numpy()
    paysplit = splits.with_columns(
        pl.col("SplitNum").cast(pl.Int64),
        DatePay=dates(s_day),
        DateEntry=dates(np.minimum(s_day, p.last)),
        ClinicNum=pl.Series(p.clinic[s_pat - 1]),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, n)),
        _edit=pl.Series(s_day.astype(np.int64) * DAY + 9 * 3600 + rng.integers(0, 8 * 3600, n)),
    )
    adj = (
        pl.concat(adjustment_parts)
        .filter(pl.col("AdjAmt") != 0)
        .sort("_day", "PatNum")
        .with_row_index("AdjNum", offset=1)
    )
    m = adj.height
    a_day = adj["_day"].to_numpy()
    a_pat = adj["PatNum"].to_numpy()
    adjustment = adj.with_columns(
        pl.col("AdjNum").cast(pl.Int64),
        AdjDate=dates(a_day),
        DateEntry=dates(np.minimum(a_day, p.last)),
        ProcDate=dates(a_day),
        ClinicNum=pl.Series(p.clinic[a_pat - 1]),
        AdjNote=pl.Series(np.where(rng.random(m) < 0.1, "per office manager", "")),
        SecUserNumEntry=pl.Series(rng.choice(ref.front_desk_users, m)),
        _edit=pl.Series(a_day.astype(np.int64) * DAY + 17 * 3600),
    )
    plan_day = plans["_day"].to_numpy()
    payplan = (
        plans.join(paid_off, on="PayPlanNum")
        .with_columns(
            Guarantor=pl.col("_guar"),
            PayPlanDate=dates(plan_day),
            CompletedAmt=pl.col("_principal"),
            IsClosed=pl.col("_closed").cast(pl.Int8),
            DatePayPlanStart=dates(plan_day + 30),
            PlanCategory=pl.lit(defs.num("PayPlanCategories", "Standard")),
            ChargeFrequency=pl.lit(3),
            Note=pl.lit("Financing for treatment"),
        )
        .drop("AptNum")
    )
    ch = plan_charges.sort("_entry", "PayPlanNum", "_day").with_row_index("PayPlanChargeNum", offset=1)
    payplancharge = ch.with_columns(
        pl.col("PayPlanChargeNum").cast(pl.Int64),
        ChargeDate=dates(ch["_day"]),
        ChargeType=pl.lit(0),
        Note=pl.lit("Monthly payment"),
        SecDateTEntry=datetimes(ch["_entry"].to_numpy().astype(np.int64) * DAY + 11 * 3600),
        _edit=pl.Series(np.minimum(ch["_entry"].to_numpy(), p.last).astype(np.int64) * DAY + 11 * 3600),
    )
    return payment, paysplit, adjustment, payplan, payplancharge
