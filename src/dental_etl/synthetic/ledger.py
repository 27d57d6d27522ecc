"""Family balances aged as of a date, exactly per docs/ledger_rules.md.

Used by the generator (to store Bal_0_30 ... BalTotal and InsEst on guarantor rows) and by
`--changes` (to recompute the families it touched). Tests check the stored numbers against their
own, independent computation.
"""

from __future__ import annotations

from datetime import date

import polars as pl

BALANCE_COLUMNS = ("Bal_0_30", "Bal_31_60", "Bal_61_90", "BalOver90", "BalTotal", "InsEst")


def entries(
    procs: pl.DataFrame,
    adjustments: pl.DataFrame,
    splits: pl.DataFrame,
    claimprocs: pl.DataFrame,
    guarantor: pl.DataFrame,
) -> pl.DataFrame:
    """Dated charges (+) and credits (-) per guarantor. `guarantor` maps PatNum -> Guarantor."""
    charges = procs.filter(pl.col("ProcStatus") == 2).select(
        "PatNum",
        _date=pl.col("ProcDate"),
        _amount=pl.col("ProcFee") * pl.max_horizontal(pl.col("UnitQty") + pl.col("BaseUnits"), pl.lit(1)),
    )
    adj = adjustments.select("PatNum", _date=pl.col("AdjDate"), _amount=pl.col("AdjAmt"))
    pay = splits.filter(pl.col("UnearnedType") == 0).select(
        "PatNum", _date=pl.col("DatePay"), _amount=-pl.col("SplitAmt")
    )
    ins = claimprocs.filter(pl.col("Status").is_in([1, 4])).select(
        "PatNum", _date=pl.col("DateCP"), _amount=-(pl.col("InsPayAmt") + pl.col("WriteOff"))
    )
    all_entries = pl.concat([charges, adj, pay, ins])
    return all_entries.join(guarantor.select("PatNum", "Guarantor"), on="PatNum", how="inner")


def age(entries_frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per guarantor: the four buckets and BalTotal as of `as_of`."""
    e = entries_frame.filter(pl.col("_date") <= as_of).with_columns(
        _age=(pl.lit(as_of) - pl.col("_date")).dt.total_days()
    )
    per = e.group_by("Guarantor").agg(
        _b0=pl.col("_amount").filter((pl.col("_amount") > 0) & (pl.col("_age") <= 30)).sum(),
        _b30=pl.col("_amount")
        .filter((pl.col("_amount") > 0) & (pl.col("_age") > 30) & (pl.col("_age") <= 60))
        .sum(),
        _b60=pl.col("_amount")
        .filter((pl.col("_amount") > 0) & (pl.col("_age") > 60) & (pl.col("_age") <= 90))
        .sum(),
        _b90=pl.col("_amount").filter((pl.col("_amount") > 0) & (pl.col("_age") > 90)).sum(),
        _credit=-pl.col("_amount").filter(pl.col("_amount") < 0).sum(),
    )
    # credits pay the oldest bucket first; what is left over makes 0-30 negative
    c0 = pl.col("_credit")
    over90 = (pl.col("_b90") - c0).clip(lower_bound=0)
    c1 = (c0 - pl.col("_b90")).clip(lower_bound=0)
    b61 = (pl.col("_b60") - c1).clip(lower_bound=0)
    c2 = (c1 - pl.col("_b60")).clip(lower_bound=0)
    b31 = (pl.col("_b30") - c2).clip(lower_bound=0)
    c3 = (c2 - pl.col("_b30")).clip(lower_bound=0)
    b0 = pl.col("_b0") - c3
    out = per.select(
        "Guarantor",
        Bal_0_30=b0.round(2),
        Bal_31_60=b31.round(2),
        Bal_61_90=b61.round(2),
        BalOver90=over90.round(2),
    )
    return out.with_columns(
        BalTotal=(pl.col("Bal_0_30") + pl.col("Bal_31_60") + pl.col("Bal_61_90") + pl.col("BalOver90")).round(
            2
        )
    )


def insurance_pending(claimprocs: pl.DataFrame, guarantor: pl.DataFrame) -> pl.DataFrame:
    """Per guarantor: InsEst, the family's NotReceived claimprocs' InsPayEst."""
    return (
        claimprocs.filter(pl.col("Status") == 0)
        .join(guarantor.select("PatNum", "Guarantor"), on="PatNum")
        .group_by("Guarantor")
        .agg(InsEst=pl.col("InsPayEst").sum().round(2))
    )


def family_balances(
    procs: pl.DataFrame,
    adjustments: pl.DataFrame,
    splits: pl.DataFrame,
    claimprocs: pl.DataFrame,
    guarantor: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Guarantor, Bal_0_30, Bal_31_60, Bal_61_90, BalOver90, BalTotal, InsEst (families with any)."""
    aged = age(entries(procs, adjustments, splits, claimprocs, guarantor), as_of)
    pending = insurance_pending(claimprocs, guarantor)
    both = aged.join(pending, on="Guarantor", how="full", coalesce=True)
    return both.with_columns(pl.col(c).fill_null(0.0) for c in BALANCE_COLUMNS)
